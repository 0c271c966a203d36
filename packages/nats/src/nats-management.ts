import type { ConsumerInfo, JetStreamManager, MsgRequest, StoredMsg, StreamInfo } from '@nats-io/jetstream';
import {
  type DriverManagement,
  type GroupInfo,
  InvalidArgumentError,
  type StoredMessage,
  subjectMatches,
} from '@omnibus/core';
import { decodeHeaders } from './envelope.js';
import { LEDGER_STREAM } from './hand-out-ledger.js';
import { isStreamNotFound } from './nats-errors.js';
import { filtersFor, hash, type StreamRegistry } from './streams.js';

/** How many streams are asked for their consumers at once by `groups()`. */
const INFO_CONCURRENCY = 8;

const reserved = (subject: string) => subject.startsWith('$') || subject.startsWith('_');

/** The server no longer has the message (deleted, expired, purged) or its stream. */
function isMessageGone(error: unknown): boolean {
  const e = error as { code?: unknown; message?: string };
  return (
    isStreamNotFound(error) ||
    e?.code === 10043 || // JSSequenceNotFoundErrF: "sequence <n> not found"
    e?.code === 10037 || // JSNoMessageFoundErr
    /no message found|sequence \d* ?not found/i.test(e?.message ?? '')
  );
}

async function eachLimited<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** A parsed `<stream>:<seq>` reference. */
interface Ref {
  readonly stream: string;
  readonly seq: number;
}

/** One group's figures while `groups()` adds them up over its durables. */
interface Tally {
  patterns: Set<string>;
  filters: Set<string>;
  lag?: number;
  pending?: number;
  redelivered?: number;
}

/**
 * The NATS adapter's management half (`BusDriver.management`).
 *
 * - `browse` reads every stream this bus manages that can hold a subject matching the
 *   pattern (never Omnibus's own `OMNIBUS_HANDOUTS` ledger or the group registry), with
 *   `STREAM.MSG.GET` `next_by_subj` requests from the stream's first sequence up to the
 *   `last_seq` each stream had when the browse began: it ends while publishers keep
 *   publishing, creates nothing on the server, and leaves nothing behind when the caller
 *   stops early. The request goes to the stream leader, so a removal is seen at once.
 * - `remove` deletes by stream sequence; a message (or stream) already gone is not an error.
 * - `groups` reports every durable consumer (a group's) on those streams, summed per group:
 *   `lag` = `num_pending`, `pending` = `num_ack_pending`, `redelivered` = `num_redelivered`.
 *   `members` is left out: JetStream does not know how many clients pull from a consumer.
 */
export class NatsManagement implements DriverManagement {
  readonly #jsm: JetStreamManager;
  readonly #streams: StreamRegistry;
  readonly #registryStream: string;
  /** Streams of other prefixes or applications that a browse found holding the bus's subjects. */
  readonly #holders = new Set<string>();

  /**
   * @param jsm the bus's JetStream manager
   * @param streams which streams the bus manages (`StreamRegistry.manages`)
   * @param registryStream the group registry's stream (`GroupRegistry.stream`): read for the
   *   groups' patterns, never browsed or removed from
   */
  constructor(jsm: JetStreamManager, streams: StreamRegistry, registryStream: string) {
    this.#jsm = jsm;
    this.#streams = streams;
    this.#registryStream = registryStream;
  }

  /**
   * Every stream the bus manages (ledger and registry excluded), listed now with its state; with
   * `pattern`, also every other stream holding subjects it matches. NATS lets no two streams
   * hold overlapping subjects, so such a stream is the one this bus writes those subjects to
   * (it adopts a stream another prefix or application created): a fresh process — the CLI —
   * must read it too. Streams read that way are remembered, so that `remove` accepts their
   * references.
   */
  async #managedStreams(pattern?: string): Promise<StreamInfo[]> {
    const infos: StreamInfo[] = [];
    for await (const info of this.#jsm.streams.list()) {
      const name = info.config.name;
      if (name === this.#registryStream || name === LEDGER_STREAM) continue;
      if (this.#streams.manages(name)) infos.push(info);
      else if (pattern !== undefined && filtersFor(pattern, info.config.subjects ?? []).length > 0) {
        this.#holders.add(name);
        infos.push(info);
      }
    }
    return infos.sort((a, b) => (a.config.name < b.config.name ? -1 : a.config.name > b.config.name ? 1 : 0));
  }

  /**
   * The messages of `stream` on subjects matching `filter`, from `firstSeq` to `lastSeq`, one
   * `next_by_subj` request each. Ends at `lastSeq`, at the stream's end, or when `signal` aborts.
   */
  async *#read(
    stream: string,
    filter: string,
    firstSeq: number,
    lastSeq: number,
    signal?: AbortSignal,
  ): AsyncGenerator<StoredMsg> {
    for (let seq = Math.max(1, firstSeq); seq <= lastSeq; ) {
      if (signal?.aborted) return;
      let stored: StoredMsg | null;
      try {
        stored = await this.#jsm.streams.getMessage(stream, {
          seq,
          next_by_subj: filter,
        } as unknown as MsgRequest);
      } catch (error) {
        if (isStreamNotFound(error)) return; // deleted meanwhile: nothing left to read
        throw error;
      }
      // none left, or only newer than the snapshot; a sequence at or before `seq - 1` would be a
      // server that ignored the request's start: stop rather than loop
      if (!stored || stored.seq > lastSeq || stored.seq < seq) return;
      seq = stored.seq + 1;
      yield stored;
    }
  }

  /**
   * Every stored message matching `pattern` in the streams this bus manages, stream by stream
   * and oldest first within each, up to what each stream held when the call began.
   */
  async *browse(
    pattern: string,
    options: { readonly signal?: AbortSignal } = {},
  ): AsyncIterable<StoredMessage> {
    const { signal } = options;
    if (signal?.aborted) return;
    const snapshot = (await this.#managedStreams(pattern)).filter(
      (info) => filtersFor(pattern, info.config.subjects ?? []).length > 0 && info.state.messages > 0,
    );
    for (const info of snapshot) {
      const stream = info.config.name;
      for await (const stored of this.#read(
        stream,
        pattern,
        info.state.first_seq,
        info.state.last_seq,
        signal,
      )) {
        // the stream holds only its own subjects; Omnibus's and the server's are never listed
        if (reserved(stored.subject) || !subjectMatches(pattern, stored.subject)) continue;
        const { headers, id, publishedAt } = decodeHeaders(stored.header);
        const ref = `${stream}:${stored.seq}`;
        yield {
          ref,
          id: id || stored.header?.get('Nats-Msg-Id') || ref,
          subject: stored.subject,
          payload: stored.data,
          headers,
          publishedAt:
            publishedAt !== undefined && Number.isFinite(publishedAt) ? publishedAt : stored.time.getTime(),
        };
        if (signal?.aborted) return;
      }
    }
  }

  /** `<stream>:<seq>` of a stream this bus manages, or an `InvalidArgumentError`. */
  #parse(ref: unknown): Ref {
    const fail = (why: string) =>
      new InvalidArgumentError(`invalid reference ${JSON.stringify(ref)?.slice(0, 120)}: ${why}`, {
        backend: 'nats',
        hint: "a NATS reference is '<stream>:<sequence>', as browse and deadLetters.list give it",
      });
    if (typeof ref !== 'string') throw fail('not a string');
    const at = ref.lastIndexOf(':');
    const stream = ref.slice(0, at);
    const digits = ref.slice(at + 1);
    if (at <= 0 || !/^[1-9][0-9]{0,15}$/.test(digits)) throw fail("expected '<stream>:<sequence>'");
    const seq = Number(digits);
    if (!Number.isSafeInteger(seq)) throw fail('sequence out of range');
    if (stream === this.#registryStream || (!this.#streams.manages(stream) && !this.#holders.has(stream)))
      throw fail(`stream ${stream} does not hold messages of this bus`);
    return { stream, seq };
  }

  /**
   * Deletes the referenced messages (`STREAM.MSG.DELETE`, without the secure overwrite). Every
   * reference is checked before anything is deleted; one already gone is not an error.
   */
  async remove(refs: readonly string[]): Promise<void> {
    if (!Array.isArray(refs))
      throw new InvalidArgumentError('refs must be an array of references', { backend: 'nats' });
    const parsed = refs.map((ref) => this.#parse(ref));
    for (const { stream, seq } of parsed) {
      try {
        await this.#jsm.streams.deleteMessage(stream, seq, false);
      } catch (error) {
        if (!isMessageGone(error)) throw error;
      }
    }
  }

  /** The patterns each group was subscribed with, from the group registry (empty when there is none). */
  async #registeredPatterns(): Promise<Map<string, Set<string>>> {
    const patterns = new Map<string, Set<string>>();
    let info: StreamInfo;
    try {
      info = await this.#jsm.streams.info(this.#registryStream);
    } catch (error) {
      if (isStreamNotFound(error)) return patterns;
      throw error;
    }
    const filter = info.config.subjects?.[0] ?? '>';
    for await (const stored of this.#read(
      this.#registryStream,
      filter,
      info.state.first_seq,
      info.state.last_seq,
    )) {
      try {
        const entry = stored.json<{ group?: unknown; pattern?: unknown }>();
        if (typeof entry.group !== 'string' || typeof entry.pattern !== 'string') continue;
        const set = patterns.get(entry.group) ?? new Set<string>();
        patterns.set(entry.group, set.add(entry.pattern));
      } catch {
        // not an Omnibus registration: ignored
      }
    }
    return patterns;
  }

  /**
   * Every group: the durable consumers on the streams this bus manages (a group's durable is
   * named after the group, or `<group>_<hash(filter)>` for a second filter on one stream), and
   * the groups registered without a durable yet. Figures are summed over a group's durables;
   * a group without any has none (its lag is not known until a member creates them).
   */
  async groups(): Promise<GroupInfo[]> {
    const [streams, registered] = await Promise.all([this.#managedStreams(), this.#registeredPatterns()]);
    const consumers: ConsumerInfo[] = [];
    await eachLimited(streams, INFO_CONCURRENCY, async (info) => {
      try {
        for await (const c of this.#jsm.consumers.list(info.config.name)) {
          if (c.config.durable_name) consumers.push(c); // ungrouped subscriptions are ephemeral
        }
      } catch (error) {
        if (!isStreamNotFound(error)) throw error; // deleted meanwhile
      }
    });
    const tallies = new Map<string, Tally>();
    const tally = (group: string): Tally => {
      const t = tallies.get(group) ?? { patterns: new Set<string>(), filters: new Set<string>() };
      tallies.set(group, t);
      return t;
    };
    for (const c of consumers) {
      const filter = c.config.filter_subject ?? '';
      const suffix = filter ? `_${hash(filter)}` : undefined;
      const name = c.config.durable_name as string;
      const group =
        suffix && name.endsWith(suffix) && name.length > suffix.length ? name.slice(0, -suffix.length) : name;
      const t = tally(group);
      if (filter) t.filters.add(filter);
      for (const f of c.config.filter_subjects ?? []) t.filters.add(f);
      t.lag = (t.lag ?? 0) + c.num_pending;
      t.pending = (t.pending ?? 0) + c.num_ack_pending;
      t.redelivered = (t.redelivered ?? 0) + c.num_redelivered;
    }
    for (const [group, patterns] of registered) {
      const t = tally(group);
      for (const p of patterns) t.patterns.add(p);
    }
    return [...tallies.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([group, t]) => ({
        group,
        // the registry has the patterns as subscribed; a group from before it, only its durables' filters
        patterns: [...(t.patterns.size > 0 ? t.patterns : t.filters)],
        ...(t.lag !== undefined ? { lag: t.lag } : {}),
        ...(t.pending !== undefined ? { pending: t.pending } : {}),
        ...(t.redelivered !== undefined ? { redelivered: t.redelivered } : {}),
      }));
  }
}
