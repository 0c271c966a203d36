import { type DeliverySink, type InboundDelivery, type SettleInfo, settledWithin } from '@omnibus/core';
import { type Redis, ReplyError } from 'ioredis';
import { AckBatcher } from './ack-batcher.js';
import { type AnyRedis, CONNECTION_CLOSED_EVENTS, connectionFor } from './connection.js';
import { decodeEntry, parseClaimReply, parseReadReply, type RawEntry } from './envelope.js';
import { dueMember, type Keys } from './keys.js';
import { isBusyGroup, isNoGroup } from './redis-errors.js';
import type { Scripted } from './scripted.js';

/** What one subscription's loop needs from the driver. */
export interface ReadLoopContext {
  readonly client: AnyRedis & Scripted;
  readonly blocking: Redis;
  /** The name the blocking connection gives the server (`CLIENT SETNAME`): this subscription's own. */
  readonly readConnectionName: string;
  readonly keys: Keys;
  readonly group: string;
  readonly consumer: string;
  /** False for an ungrouped subscription: its own group is destroyed on close. */
  readonly grouped: boolean;
  readonly sink: DeliverySink;
  readonly blockMs: number;
  readonly ackTimeoutMs: number;
  /** Entries trimmed away while pending: acknowledged and counted, never retried. */
  countTrimmed(n: number): void;
  /** Wakes every loop of this group in this process (something became due). */
  wakeGroup(dueAt: number): void;
  /**
   * Where to create the consumer group on streams first noticed after the
   * subscription started: for a named group, `0` when the subject was born after
   * the group was registered, else the group's start; `0` when ungrouped.
   */
  startPositions(streams: readonly string[]): Promise<string[]>;
  status(type: string, detail?: string): void;
  /**
   * Counts the closes of the shared client's connection. ioredis sends a command
   * again when its reply was lost with the connection, so a read whose reply
   * spans a close may have claimed entries twice: the first run's are in this
   * member's pending list, unseen.
   */
  connectionEpoch(): number;
}

interface Held {
  readonly stream: string;
  readonly entryId: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** A blocking read that has not answered this long after its BLOCK time is treated as hung. */
const HUNG_READ_MARGIN_MS = 5_000;
/** Longest `stop()` waits for the loop's command in flight. */
const STOP_WAIT_MS = 2_000;
/** How often a member reading without pause looks at its group's due set (another process's naks). */
const DUE_POLL_MS = 100;
/** Streams one bounded read looks at (its keys are sent with every call). */
const READ_WINDOW = 500;
/** Streams one reclaim script looks at (a script blocks the server while it runs: keep it short). */
const RECLAIM_STREAMS = 200;
/** Least margin of the reclaim's idle time over a live member's refresh period. */
const RECLAIM_MARGIN_MS = 1_000;

/**
 * Reads one subscription's streams into its sink: due entries of the group
 * (nakked or released) first, then entries idle past the ack timeout (their
 * holder is gone), then new entries with one blocking `XREADGROUP` over every
 * stream. Never claims more than the sink's capacity in one read: `COUNT`
 * bounds each stream of an `XREADGROUP`, not the read, so several streams are
 * read by a script that stops at the capacity, and a blocking read whose reply
 * still exceeds it gives the surplus back to the group at once. Keeps every entry it
 * holds (until core settles it) fresh so that no other member takes it over: core owns
 * the ack timeout, the broker-side reclaim is only the backstop for a member that
 * crashed or lost its connection. Survives
 * dropped connections (a hung read is abandoned and re-issued on a fresh
 * connection) and lost groups (`NOGROUP`: recreated).
 */
export class ReadLoop {
  readonly #ctx: ReadLoopContext;
  readonly #streams = new Set<string>();
  readonly #newStreams = new Set<string>();
  readonly #held = new Map<string, Held>();
  /** Entries settled here whose ack, nak or release the server has not answered yet. */
  readonly #settling = new Set<string>();
  readonly #overflow: [RawEntry, string][] = [];
  #stopped = false;
  #done: Promise<void> = Promise.resolve();
  /**
   * The server's id of the blocking connection: learned before the first read on a connection
   * (undefined until then), null when the server refused to tell (an ACL without +client|id).
   */
  #clientId: string | null | undefined;
  /** Ids of blocking connections given up since the last recovery: a read one of them sent may yet be served. */
  readonly #abandoned = new Set<string>();
  /** The server refused `CLIENT LIST`/`CLIENT KILL` once (reported once). */
  #killRefused = false;
  #blocked = false;
  #wakeCapacity: (() => void) | undefined;
  #lastRefresh = 0;
  #lastReclaim = 0;
  /**
   * The earliest time something in the group's due set is known to be due: the
   * due set's first score after the last claim, or a local nak or release
   * (`wake`); 0 after an error or a claim that filled the capacity. The due set
   * is claimed when it is reached, and otherwise every DUE_POLL_MS while reads go
   * on (another process's immediate nak or release is seen within that, or
   * within `blockMs` of an idle blocking read).
   */
  #dueAt = 0;
  #lastClaim = 0;
  #whenIdle: (() => void) | undefined;
  #recoverOwn = false;
  #rotation = 0;
  readonly #acks: AckBatcher;

  constructor(ctx: ReadLoopContext, streams: Iterable<string>) {
    this.#ctx = ctx;
    this.#acks = new AckBatcher((stream, ids) => ctx.client.xack(stream, ctx.group, ...ids));
    for (const s of streams) this.#streams.add(s);
    ctx.sink.onCapacity(() => this.#resumeForCapacity());
    // a read sent on a connection that closed may still reach the server and be served (a
    // Cluster's node connection closes without a 'close' of the cluster, and the cluster sends
    // the read again on a new one: its id is learned again before the next read)
    for (const event of CONNECTION_CLOSED_EVENTS)
      ctx.blocking.on(event, () => {
        this.#abandonRead();
        this.#recoverOwn = true;
      });
  }

  get streams(): ReadonlySet<string> {
    return this.#streams;
  }

  /** How often held entries are refreshed and idle ones reclaimed. */
  get #refreshEveryMs(): number {
    return Math.max(100, Math.floor(this.#ctx.ackTimeoutMs / 4));
  }

  /**
   * How long an entry must have been idle before this member takes it over: past
   * `ackTimeoutMs`, by more than a live member's refresh period (plus a margin for
   * a slow round trip or a busy event loop). A live member refreshes every entry it
   * holds until core settles it, and core naks a handed-out entry `ackTimeoutMs`
   * after its hand-out: only a crashed or cut-off member's entries get this idle.
   */
  get #reclaimIdleMs(): number {
    return this.#ctx.ackTimeoutMs + Math.max(RECLAIM_MARGIN_MS, this.#refreshEveryMs + 500);
  }

  async start(): Promise<void> {
    await this.#ctx.blocking.connect().catch(() => undefined);
    await this.#learnClientId().catch(() => undefined);
    this.#done = this.#run();
  }

  /** A stream whose group already exists (created before the loop starts). */
  addStreamKnown(stream: string): void {
    this.#newStreams.delete(stream);
    this.#streams.add(stream);
  }

  /** A stream to read too (a subject first published after the subscription started). */
  addStream(stream: string): void {
    if (this.#streams.has(stream) || this.#newStreams.has(stream)) return;
    this.#newStreams.add(stream);
    this.wake(0);
  }

  /** Something is due at `dueAt` (epoch ms): interrupt a blocking read so the loop looks. */
  wake(dueAt: number): void {
    this.#dueAt = Math.min(this.#dueAt, dueAt);
    this.#resumeForCapacity();
    if (this.#blocked && this.#clientId) {
      this.#slotNode(this.#ctx.client)
        ?.call('CLIENT', 'UNBLOCK', this.#clientId)
        .catch(() => undefined);
    }
  }

  /** Stops reading; resolves when no further push will happen. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.wake(0);
    // bounded: with the server away, a command of this loop waits for the reconnect;
    // anything it still pushes afterwards is released by core at once
    await settledWithin(this.#done, STOP_WAIT_MS);
  }

  /** Resolves once every entry this loop pushed has been settled (core settles all on close). */
  settled(): Promise<void> {
    if (this.#held.size === 0) return this.#acks.flushNow();
    return new Promise((resolve) => {
      this.#whenIdle = resolve;
    });
  }

  disconnect(): void {
    this.#ctx.blocking.disconnect();
  }

  /** The connection of `client` to the node that holds this bus's keys (the client itself unless a Cluster). */
  #slotNode(client: AnyRedis): Redis | undefined {
    return connectionFor(client, this.#ctx.keys.due(this.#ctx.group));
  }

  /** Asks the server for the blocking connection's id, as long as a read may wait for an answer. */
  async #learnClientId(): Promise<void> {
    this.#clientId = undefined;
    const node = this.#slotNode(this.#ctx.blocking);
    if (!node) return; // a Cluster's slot map not known yet: asked again before the next read
    const asked = node.call('CLIENT', 'ID');
    asked.catch(() => undefined);
    if (!(await settledWithin(asked, HUNG_READ_MARGIN_MS))) {
      this.#ctx.blocking.disconnect(true);
      throw new Error(`blocking connection: CLIENT ID had no answer within ${HUNG_READ_MARGIN_MS} ms`);
    }
    // refused: read on without an id (not asked again on this connection); no answer: never read unknown
    this.#clientId = await asked.then(String, (error: unknown) => {
      if (error instanceof ReplyError) return null;
      throw error;
    });
  }

  /** The blocking read in flight is given up (no answer, or its connection dropped). */
  #abandonRead(): void {
    if (typeof this.#clientId === 'string') this.#abandoned.add(this.#clientId);
    this.#clientId = undefined;
  }

  /**
   * Closes the blocking connections this loop gave up on that the server still
   * holds. A paused server reads their close only once it runs again, and may
   * first serve the read one of them left blocked (a publish of another client
   * comes first): its entries would be assigned to this member with the reply
   * lost, after the recovery looked, and come back only after the ack timeout,
   * behind newer ones. Once the close is answered, the recovery sees every entry
   * such a read took, or no read is served any more.
   */
  async #closeAbandoned(): Promise<void> {
    if (this.#abandoned.size === 0) return;
    const node = this.#slotNode(this.#ctx.client);
    if (!node) return;
    for (const id of [...this.#abandoned]) {
      try {
        const listed = String(await node.call('CLIENT', 'LIST', 'ID', id));
        // ids start again with a restarted server: close only this subscription's own read connection
        if (listed.includes(` name=${this.#ctx.readConnectionName} `))
          await node.call('CLIENT', 'KILL', 'ID', id);
      } catch (error) {
        // refused (an ACL without +client|list or +client|kill): the take-back runs without it
        if (!(error instanceof ReplyError)) throw error;
        if (!this.#killRefused) this.#ctx.status('read_close_refused', (error as Error).message);
        this.#killRefused = true;
      }
      this.#abandoned.delete(id);
    }
  }

  #resumeForCapacity(): void {
    const w = this.#wakeCapacity;
    this.#wakeCapacity = undefined;
    w?.();
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      try {
        await this.#createNewGroups();
        this.#drainOverflow();
        const now = Date.now();
        if (now - this.#lastRefresh >= this.#refreshEveryMs) await this.#refreshHeld(now);
        if (this.#ctx.sink.capacity === 0) {
          await this.#waitForCapacity(this.#refreshEveryMs);
          continue;
        }
        if (this.#recoverOwn) await this.#recoverOwnPending();
        const claim = now >= this.#dueAt || now - this.#lastClaim >= DUE_POLL_MS;
        let got = claim ? await this.#claimDue(now) : 0;
        if (now - this.#lastReclaim >= this.#refreshEveryMs) got += await this.#reclaim(now);
        if (got > 0 || this.#recoverOwn || this.#ctx.sink.capacity === 0 || this.#stopped) continue;
        await this.#readNew();
        if (failures > 0) this.#ctx.status('read_resumed', this.#ctx.group);
        failures = 0;
      } catch (error) {
        this.#blocked = false;
        if (this.#stopped) break;
        failures++;
        this.#dueAt = 0;
        this.#ctx.sink.reportError(error);
        this.#recoverOwn = true; // a read's reply may have been lost with the connection
        if (isNoGroup(error)) {
          await this.#recreateGroups().catch((e) => this.#ctx.sink.reportError(e));
        } else {
          this.#ctx.status('read_failed', (error as Error)?.message);
          await sleep(Math.min(2_000, 50 * 2 ** Math.min(failures, 6)));
        }
      }
    }
  }

  /** Waits `timeoutMs`, or less when capacity frees up (or the loop stops). */
  #waitForCapacity(timeoutMs: number): Promise<void> {
    return this.#waitForWake(timeoutMs, () => this.#ctx.sink.capacity > 0);
  }

  /**
   * Waits `timeoutMs`, or less when `wake` or a capacity change calls (or the loop stops);
   * ends at once when `ready()` already holds.
   */
  async #waitForWake(timeoutMs: number, ready: () => boolean = () => false): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#wakeCapacity = () => {
        clearTimeout(timer);
        resolve();
      };
      if (ready() || this.#stopped) this.#wakeCapacity();
    });
  }

  async #createNewGroups(): Promise<void> {
    if (this.#newStreams.size === 0) return;
    const streams = [...this.#newStreams];
    // first noticed after the subscription started: read from the group's start on it
    const positions = await this.#ctx.startPositions(streams);
    await Promise.all(
      streams.map((stream, i) =>
        createGroup(this.#ctx.client, this.#ctx.keys, stream, this.#ctx.group, positions[i] ?? '0'),
      ),
    );
    for (const stream of streams) {
      this.#newStreams.delete(stream);
      this.#streams.add(stream);
    }
  }

  /**
   * `NOGROUP`: the group vanished from some stream (deleted from outside, or a
   * server restarted without persistence). Created again where missing at `0`:
   * the group's record of what it read is gone, so nothing published since is
   * lost, and what it had acknowledged comes again (at-least-once).
   */
  async #recreateGroups(): Promise<void> {
    for (const stream of this.#streams)
      await createGroup(this.#ctx.client, this.#ctx.keys, stream, this.#ctx.group, '0');
    this.#ctx.status('group_recreated', this.#ctx.group);
  }

  /**
   * Takes back entries delivered to this consumer whose read reply never arrived
   * (lost with a dropped connection): without this they would wait for the ack
   * timeout and arrive after newer ones. Entries it holds or that wait in the due
   * set are left alone.
   */
  async #recoverOwnPending(): Promise<void> {
    await this.#closeAbandoned();
    const { client, keys, group, consumer } = this.#ctx;
    for (const stream of this.#streams) {
      const reply = await client.omnibusOwnPendingBuffer(stream, keys.due(group), group, consumer, 1_000);
      const { claimed } = parseClaimReply(reply);
      const lost = claimed.filter((e) => {
        const key = `${e.stream}\n${e.entryId}`;
        return !this.#held.has(key) && !this.#settling.has(key);
      });
      if (lost.length > 0) this.#ctx.status('read_recovered', `${lost.length} entries of ${stream}`);
      for (const entry of lost) this.#push(entry);
    }
    this.#recoverOwn = false;
  }

  async #claimDue(now: number): Promise<number> {
    const { client, keys, group, consumer, sink } = this.#ctx;
    const capacity = sink.capacity;
    this.#lastClaim = now;
    // the first score left after the claim, in the same round trip (auto-pipelined, in order)
    const [reply, first] = await Promise.all([
      this.#sharedRead(() => client.omnibusClaimDueBuffer(keys.due(group), group, consumer, now, capacity)),
      client.zrange(keys.due(group), 0, 0, 'WITHSCORES'),
    ]);
    const got = this.#accept(reply);
    const next = first.length >= 2 ? Number(first[1]) : Number.POSITIVE_INFINITY;
    // more may be due at once when the claim filled the capacity
    this.#dueAt = got >= capacity ? 0 : Number.isFinite(next) ? next : Number.POSITIVE_INFINITY;
    return got;
  }

  async #reclaim(now: number): Promise<number> {
    this.#lastReclaim = now;
    const { client, keys, group, consumer } = this.#ctx;
    const minIdle = this.#reclaimIdleMs;
    const streams = [...this.#streams];
    let got = 0;
    // one script per RECLAIM_STREAMS streams, not one round trip per stream
    for (let i = 0; i < streams.length; i += RECLAIM_STREAMS) {
      const capacity = this.#ctx.sink.capacity;
      if (capacity === 0) break;
      const chunk = streams.slice(i, i + RECLAIM_STREAMS);
      const reply = await this.#sharedRead(() =>
        client.omnibusReclaimBuffer(
          1 + chunk.length,
          keys.due(group),
          ...chunk,
          group,
          consumer,
          minIdle,
          capacity,
        ),
      );
      got += this.#accept(reply);
    }
    return got;
  }

  /**
   * Runs a read that claims entries on the shared client. When the connection
   * closed while it ran, ioredis may have run it twice and this reply is the
   * second: the reply is dropped (an empty one) and every entry of this member's
   * pending list it does not hold is recovered, in stream order, before anything
   * else is read — rather than coming back after the ack timeout, out of order,
   * counted as an attempt no handler saw.
   */
  async #sharedRead(read: () => Promise<unknown>): Promise<unknown> {
    const epoch = this.#ctx.connectionEpoch();
    const reply = await read();
    if (this.#ctx.connectionEpoch() === epoch) return reply;
    this.#recoverOwn = true;
    return [];
  }

  #accept(reply: unknown): number {
    const { claimed, trimmed } = parseClaimReply(reply);
    if (trimmed > 0) this.#ctx.countTrimmed(trimmed);
    for (const entry of claimed) this.#push(entry);
    return claimed.length;
  }

  async #readNew(): Promise<void> {
    const { blocking, client, group, consumer, sink, blockMs } = this.#ctx;
    const streams = [...this.#streams];
    if (streams.length === 0) {
      // a wildcard with no subject yet: wait for one (addStream wakes), or for something due
      const until = this.#dueAt - Date.now();
      await this.#waitForWake(Math.max(1, Math.min(blockMs, until)));
      return;
    }
    const capacity = sink.capacity;
    if (streams.length > 1) {
      // COUNT bounds each stream of an XREADGROUP: read what is there with a script that stops at
      // capacity, READ_WINDOW streams at a time (the keys sent stay few however many subjects
      // match), starting after the streams the last read visited, so that no stream waits behind
      // busy ones and a read never scans again what the last one emptied; only a whole round of
      // the streams with nothing in them ends in the blocking read
      for (let scanned = 0; scanned < streams.length; ) {
        const start = this.#rotation % streams.length;
        const window = streams.slice(start, start + READ_WINDOW);
        if (window.length < READ_WINDOW && streams.length > window.length)
          window.push(...streams.slice(0, Math.min(start, READ_WINDOW - window.length)));
        const reply = await this.#sharedRead(() =>
          client.omnibusReadBoundedBuffer(window.length, ...window, group, consumer, capacity),
        );
        const [visited, read] = Array.isArray(reply) ? (reply as [number, unknown]) : [window.length, []];
        const moved = Math.max(1, Number(visited) || 0);
        this.#rotation = (start + moved) % streams.length;
        scanned += moved;
        const entries = parseReadReply(read);
        if (this.#recoverOwn) return; // the loop recovers first
        if (entries.length > 0) {
          await this.#pushBounded(entries, capacity);
          return;
        }
        if (this.#stopped) return;
      }
    }
    const now = Date.now();
    // held entries are refreshed on time, whatever blockMs is
    const refreshIn = this.#held.size > 0 ? this.#lastRefresh + this.#refreshEveryMs - now : blockMs;
    const until = Math.min(this.#dueAt - now, refreshIn);
    const block = Math.max(1, Math.min(blockMs, Number.isFinite(until) ? until : blockMs));
    const args = ['GROUP', group, consumer, 'COUNT', capacity, 'BLOCK', block, 'STREAMS'];
    const limit = block + HUNG_READ_MARGIN_MS;
    if (this.#clientId === undefined) await this.#learnClientId();
    this.#blocked = true;
    try {
      const read = blocking.callBuffer('XREADGROUP', ...args, ...streams, ...streams.map(() => '>'));
      if (!(await settledWithin(read, limit))) {
        // a read on a silently dropped connection never answers: start over on a fresh one
        this.#abandonRead();
        blocking.disconnect(true);
        throw new Error(`blocking read did not answer within ${limit} ms`);
      }
      this.#blocked = false;
      let reply: unknown;
      try {
        reply = await read;
      } catch (error) {
        // no answer from the server: the connection dropped, and the read may yet be served
        if (!(error instanceof ReplyError)) this.#abandonRead();
        throw error;
      }
      await this.#pushBounded(parseReadReply(reply), capacity);
    } finally {
      this.#blocked = false;
    }
  }

  /**
   * Pushes at most `capacity` entries. A blocking read served with several
   * streams at once (entries arrived on them between the bounded read and the
   * block; Redis ≥ 7.2 re-runs a served read over every stream) returns up to
   * `COUNT` per stream: the surplus is already in this consumer's pending list,
   * so it is given back to the group at once (due now, attempt not counted)
   * rather than held here where no other member could take it.
   */
  async #pushBounded(entries: RawEntry[], capacity: number): Promise<void> {
    for (const entry of entries.slice(0, capacity)) this.#push(entry);
    const surplus = entries.slice(capacity);
    if (surplus.length === 0) return;
    const { client, keys, group, consumer } = this.#ctx;
    const now = Date.now();
    for (const entry of surplus) {
      await client.omnibusRelease(
        entry.stream,
        keys.due(group),
        group,
        consumer,
        entry.entryId,
        entry.deliveries - 1,
        dueMember(entry.stream, entry.entryId),
        now,
      );
    }
    this.#ctx.wakeGroup(now);
  }

  #drainOverflow(): void {
    while (this.#overflow.length > 0 && this.#ctx.sink.capacity > 0) {
      const [entry, key] = this.#overflow.shift() as [RawEntry, string];
      this.#deliver(entry, key);
    }
  }

  #push(entry: RawEntry): void {
    const key = `${entry.stream}\n${entry.entryId}`;
    this.#held.set(key, { stream: entry.stream, entryId: entry.entryId });
    // while stopping, core takes everything and releases it in order
    if (this.#overflow.length > 0 || (this.#ctx.sink.capacity === 0 && !this.#stopped)) {
      this.#overflow.push([entry, key]);
      return;
    }
    this.#deliver(entry, key);
  }

  /**
   * Keeps every entry this member holds from looking idle until core settles it:
   * waiting in the buffer (the ack timeout runs from hand-out) or handed out (core
   * naks it `ackTimeoutMs` after the hand-out; the reclaim must not redeliver it
   * first, or the same attempt would be delivered twice). Entries another member
   * has taken over meanwhile (this one was cut off) are left to it.
   */
  async #refreshHeld(now: number): Promise<void> {
    this.#lastRefresh = now;
    const byStream = new Map<string, string[]>();
    for (const h of this.#held.values()) {
      const ids = byStream.get(h.stream) ?? [];
      ids.push(h.entryId);
      byStream.set(h.stream, ids);
    }
    const { client, group, consumer } = this.#ctx;
    await Promise.all(
      [...byStream].map(([stream, ids]) => client.omnibusRefreshHeld(stream, group, consumer, ...ids)),
    );
  }

  /**
   * Settles the entry held under `key` with `op` (its ack, nak or release on the server).
   * Until `op` is answered the entry is still in this member's pending list: the recovery
   * of lost reads must not take it for one.
   */
  async #settleWith(key: string, op: () => Promise<void>): Promise<void> {
    this.#settle(key);
    this.#settling.add(key);
    try {
      await op();
    } finally {
      this.#settling.delete(key);
    }
  }

  #settle(key: string): void {
    this.#held.delete(key);
    if (this.#held.size === 0 && this.#whenIdle) {
      const idle = this.#whenIdle;
      this.#whenIdle = undefined;
      // idle once the acks are answered: the clean-up after it must find them done
      queueMicrotask(() => void this.#acks.flushNow().then(idle));
    }
  }

  /** `key`: the one string the entry is held under (one string: its hash is computed once). */
  #deliver(entry: RawEntry, key: string): void {
    const { client, keys, group, consumer, grouped } = this.#ctx;
    const { stream, entryId } = entry;
    const decoded = decodeEntry(entry);
    const delivery: InboundDelivery = {
      id: decoded.id,
      subject: keys.subjectOf(stream),
      payload: decoded.payload,
      headers: decoded.headers,
      publishedAt: decoded.publishedAt,
      attempt: entry.deliveries,
      ack: () => this.#settleWith(key, () => this.#acks.ack(stream, entryId)),
      nak: (delayMs: number, info: SettleInfo) => this.#settleWith(key, () => nakOrRelease(delayMs, info)),
    };
    const nakOrRelease = async (delayMs: number, info: SettleInfo): Promise<void> => {
      if (info.reason === 'release' && !grouped) return; // the subscription's own group goes with it
      const member = dueMember(stream, entryId);
      const now = Date.now();
      if (info.reason === 'release' && !info.handedOut) {
        // back unchanged: the next claim counts the same attempt again
        await client.omnibusRelease(
          stream,
          keys.due(group),
          group,
          consumer,
          entryId,
          entry.deliveries - 1,
          member,
          now,
        );
        this.#ctx.wakeGroup(now);
        return;
      }
      const dueAt = now + Math.max(0, Math.ceil(delayMs));
      await client.zadd(keys.due(group), dueAt, member);
      this.#ctx.wakeGroup(dueAt);
    };
    this.#ctx.sink.push(delivery);
  }
}

/**
 * `XGROUP CREATE` at `position`; an existing group is kept as it is. A stream that does not
 * exist is created and its subject registered (see CREATE_GROUP).
 */
export async function createGroup(
  client: AnyRedis & Scripted,
  keys: Keys,
  stream: string,
  group: string,
  position: string,
): Promise<void> {
  try {
    await client.omnibusCreateGroup(
      stream,
      keys.registry,
      keys.births,
      keys.birthCounter,
      group,
      position,
      keys.subjectOf(stream),
      keys.newSubjects,
    );
  } catch (error) {
    if (!isBusyGroup(error)) throw error;
  }
}
