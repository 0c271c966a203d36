import {
  ConnectionError,
  type DriverManagement,
  type GroupInfo,
  InvalidArgumentError,
  isValidSubject,
  type StoredMessage,
  subjectMatches,
} from '@omnibus/core';
import { Redis } from 'ioredis';
import type { AnyRedis } from './connection.js';
import { decodeEntry } from './envelope.js';
import { parseRegistrations, type Registrations, startFor } from './group-registry.js';
import type { Keys } from './keys.js';

const BACKEND = 'redis';
/** Entries read per `XRANGE` while browsing. */
export const BROWSE_CHUNK = 500;
/** Entry ids deleted per `XDEL`. */
const REMOVE_CHUNK = 500;
/** Keys asked for per `SCAN` step while looking for group registrations. */
const SCAN_COUNT = 1_000;
/** Longest pending list of one stream whose delivery counters are read to count redeliveries. */
export const REDELIVERED_SCAN_LIMIT = 1_000;
/** Separates the subject from the entry id in a reference (the last one: a subject may contain it, an entry id never does). */
const REF_SEPARATOR = '@';
const ENTRY_ID = /^\d{1,20}-\d{1,20}$/;

/** A stored entry's reference: `<subject>@<entry id>`, e.g. `dlq.orders.created@1712345678901-0`. */
export function entryRef(subject: string, entryId: string): string {
  return `${subject}${REF_SEPARATOR}${entryId}`;
}

/**
 * Reads a reference made by `entryRef`: the subject before the last `@` (a valid concrete subject),
 * the stream entry id after it (`<ms>-<seq>`). Anything else is an `InvalidArgumentError`.
 */
export function parseEntryRef(ref: unknown): { subject: string; entryId: string } {
  const at = typeof ref === 'string' ? ref.lastIndexOf(REF_SEPARATOR) : -1;
  const subject = at > 0 ? (ref as string).slice(0, at) : '';
  const entryId = at > 0 ? (ref as string).slice(at + 1) : '';
  if (!isValidSubject(subject) || !ENTRY_ID.test(entryId))
    throw new InvalidArgumentError(
      `not a Redis message reference: ${JSON.stringify(String(ref).slice(0, 300))} (expected <subject>@<ms>-<seq>, as browse and list give)`,
      { backend: BACKEND },
    );
  return { subject, entryId };
}

/** Glob-escapes text for `SCAN MATCH`. */
const globEscape = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

/** One consumer group's row of `XINFO GROUPS`. */
interface GroupRow {
  readonly pending: number;
  /** Redis ≥ 7: entries not yet delivered; undefined when the server answers nil or is older. */
  readonly lag: number | undefined;
}

/** Parses `XINFO GROUPS` (a list of flat name/value lists) into name → row. */
function parseGroupRows(reply: unknown): Map<string, GroupRow> {
  const rows = new Map<string, GroupRow>();
  if (!Array.isArray(reply)) return rows;
  for (const flat of reply) {
    if (!Array.isArray(flat)) continue;
    const fields = new Map<string, unknown>();
    for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), flat[i + 1]);
    const lag = fields.get('lag');
    rows.set(String(fields.get('name')), {
      pending: Number(fields.get('pending')) || 0,
      lag: lag === null || lag === undefined || !Number.isFinite(Number(lag)) ? undefined : Number(lag),
    });
  }
  return rows;
}

/**
 * The Redis bus's management half (`manage(bus)`), over the bus's own keys (its `keyPrefix`
 * hash tag: one slot in a Cluster, so every command here works on a Cluster client too).
 *
 * - `browse`: the subjects of the subject registry matching the pattern, in subject order,
 *   each stream read with `XRANGE` in chunks of `BROWSE_CHUNK` up to the last entry it held when
 *   the browse began. References are `<subject>@<entry id>`.
 * - `remove`: `XDEL`; an entry (or stream) already gone is not an error.
 * - `groups`: every named group registered in Redis (`{prefix}:group:<name>`, found with `SCAN`),
 *   never the ephemeral consumer groups of ungrouped subscriptions; figures from `XINFO GROUPS`.
 *
 * Every command is bounded by `timeoutMs` (the bus's `publishTimeoutMs`): without an answer in
 * time the call rejects with a `ConnectionError` instead of waiting for a reconnect.
 */
export class RedisManagement implements DriverManagement {
  readonly #client: AnyRedis;
  readonly #keys: Keys;
  readonly #timeoutMs: number;

  constructor(client: AnyRedis, keys: Keys, timeoutMs: number) {
    this.#client = client;
    this.#keys = keys;
    this.#timeoutMs = timeoutMs;
  }

  async #bounded<T>(what: string, command: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        command,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new ConnectionError(`${what}: no answer within ${this.#timeoutMs} ms (connection lost?)`, {
                  backend: BACKEND,
                }),
              ),
            this.#timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #subjects(): Promise<string[]> {
    return (await this.#bounded(
      'management: SMEMBERS',
      this.#client.smembers(this.#keys.registry),
    )) as string[];
  }

  /**
   * Every retained entry of the registered subjects matching `pattern`: subjects in code-point
   * order, each oldest first, up to the last entry each stream held when the browse began (a
   * subject first published after that is not included). Entries the bus did not write (no
   * decodable envelope) are skipped. Stops quietly once `signal` is aborted.
   */
  async *browse(
    pattern: string,
    options: { readonly signal?: AbortSignal } = {},
  ): AsyncIterable<StoredMessage> {
    const { signal } = options;
    if (signal?.aborted) return;
    const subjects = (await this.#subjects()).filter((s) => subjectMatches(pattern, s)).sort();
    // the snapshot end: each stream's last entry id now, all taken before anything is read
    const ends: (string | undefined)[] = [];
    for (let i = 0; i < subjects.length; i += BROWSE_CHUNK) {
      const batch = subjects.slice(i, i + BROWSE_CHUNK).map(async (subject) => {
        const last = await this.#bounded(
          'management: XREVRANGE',
          this.#client.xrevrangeBuffer(this.#keys.stream(subject), '+', '-', 'COUNT', 1),
        );
        return last[0] ? String(last[0][0]) : undefined;
      });
      ends.push(...(await Promise.all(batch)));
    }
    for (const [i, subject] of subjects.entries()) {
      const end = ends[i];
      if (end === undefined) continue; // empty (or gone) when the browse began
      const stream = this.#keys.stream(subject);
      let start = '-';
      for (;;) {
        if (signal?.aborted) return;
        const chunk = await this.#bounded(
          'management: XRANGE',
          this.#client.xrangeBuffer(stream, start, end, 'COUNT', BROWSE_CHUNK),
        );
        let lastId: string | undefined;
        for (const [id, fields] of chunk) {
          if (signal?.aborted) return;
          lastId = String(id);
          let decoded: ReturnType<typeof decodeEntry>;
          try {
            decoded = decodeEntry({ stream, entryId: lastId, fields, deliveries: 0 });
          } catch {
            continue; // not written by the bus (unreadable headers): nothing management can act on
          }
          yield { ref: entryRef(subject, lastId), subject, ...decoded };
        }
        // bounded: every chunk starts after the previous one's last id and the end is fixed
        if (lastId === undefined || chunk.length < BROWSE_CHUNK || lastId === end) break;
        start = `(${lastId}`;
      }
    }
  }

  /**
   * Deletes stored entries by reference (`XDEL`). An entry or stream already gone is not an
   * error. Every reference is checked first: one malformed reference rejects the call with an
   * `InvalidArgumentError` and nothing is deleted.
   */
  async remove(refs: readonly string[]): Promise<void> {
    if (!Array.isArray(refs))
      throw new InvalidArgumentError('refs must be an array of references', { backend: BACKEND });
    const byStream = new Map<string, string[]>();
    for (const ref of refs) {
      const { subject, entryId } = parseEntryRef(ref);
      const stream = this.#keys.stream(subject);
      const ids = byStream.get(stream) ?? [];
      ids.push(entryId);
      byStream.set(stream, ids);
    }
    const deletes: Promise<number>[] = [];
    for (const [stream, ids] of byStream) {
      for (let i = 0; i < ids.length; i += REMOVE_CHUNK) {
        deletes.push(
          this.#bounded('management: XDEL', this.#client.xdel(stream, ...ids.slice(i, i + REMOVE_CHUNK))),
        );
      }
    }
    await Promise.all(deletes);
  }

  /** The names of every registered group: `SCAN` for `{prefix}:group:*` hashes on every primary. */
  async #groupNames(): Promise<string[]> {
    const prefix = this.#keys.group('');
    const match = `${globEscape(prefix)}*`;
    const nodes = this.#client instanceof Redis ? [this.#client] : this.#client.nodes('master');
    const names = new Set<string>();
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await this.#bounded(
          'management: SCAN',
          node.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT, 'TYPE', 'hash'),
        );
        cursor = next;
        for (const key of keys) if (key.startsWith(prefix)) names.add(key.slice(prefix.length));
      } while (cursor !== '0');
    }
    return [...names].sort();
  }

  async #registrations(group: string): Promise<Registrations> {
    const hash = await this.#bounded('management: HGETALL', this.#client.hgetall(this.#keys.group(group)));
    return parseRegistrations(Object.entries(hash).flat());
  }

  /** `XINFO GROUPS` of a stream; undefined when the stream is gone. */
  async #groupRows(stream: string): Promise<Map<string, GroupRow> | undefined> {
    try {
      return parseGroupRows(
        await this.#bounded('management: XINFO GROUPS', this.#client.xinfo('GROUPS', stream)),
      );
    } catch (error) {
      if (/no such key/i.test(String((error as Error)?.message))) return undefined;
      throw error;
    }
  }

  /** Pending entries of `group` on `stream` handed out more than once; undefined past the scan limit. */
  async #redelivered(stream: string, group: string, pending: number): Promise<number | undefined> {
    if (pending === 0) return 0;
    if (pending > REDELIVERED_SCAN_LIMIT) return undefined;
    const rows = (await this.#bounded(
      'management: XPENDING',
      this.#client.xpending(stream, group, '-', '+', pending),
    )) as [string, string, number, number][];
    return rows.filter((row) => Number(row[3]) > 1).length;
  }

  /**
   * Every named group (registered by a first grouped subscribe, members running or not) with the
   * patterns it was subscribed with, and figures summed over the streams its patterns match:
   *
   * - `pending`: entries delivered to a member and not acknowledged (`XINFO GROUPS` pending),
   *   including entries waiting in the group's due set for a redelivery.
   * - `lag`: entries not delivered yet — Redis 7's `lag`; on a stream whose consumer group no member
   *   has created yet, the stream's length when the group will read it from its start (else
   *   unknown). Undefined when any stream cannot tell (nil on Redis 7 after deletions inside the
   *   unread range, or Redis < 7): never estimated.
   * - `redelivered`: pending entries handed out more than once (their delivery counter is above 1:
   *   now held by a member or waiting in the due set). Undefined when a stream has more than
   *   `REDELIVERED_SCAN_LIMIT` pending entries.
   * - `members`: left undefined — `XINFO CONSUMERS` keeps the consumers of crashed members, and
   *   their idle times depend on each member's `blockMs`: neither counts the members connected now.
   */
  async groups(): Promise<GroupInfo[]> {
    const names = await this.#groupNames();
    if (names.length === 0) return [];
    const subjects = (await this.#subjects()).sort();
    const rowsByStream = new Map<string, Promise<Map<string, GroupRow> | undefined>>();
    const rowsOf = (stream: string) => {
      let rows = rowsByStream.get(stream);
      if (!rows) {
        rows = this.#groupRows(stream);
        rowsByStream.set(stream, rows);
      }
      return rows;
    };
    const out: GroupInfo[] = [];
    for (const group of names) {
      const registrations = await this.#registrations(group);
      if (registrations.size === 0) continue; // deleted since the scan
      const patterns = [...registrations.keys()].sort();
      const matching = subjects.filter((s) => patterns.some((p) => subjectMatches(p, s)));
      const figures = await Promise.all(
        matching.map((subject) => this.#streamFigures(subject, group, registrations, rowsOf)),
      );
      let pending = 0;
      let lag: number | undefined = 0;
      let redelivered: number | undefined = 0;
      for (const f of figures) {
        if (!f) continue; // the stream is gone
        pending += f.pending;
        lag = lag === undefined || f.lag === undefined ? undefined : lag + f.lag;
        redelivered =
          redelivered === undefined || f.redelivered === undefined ? undefined : redelivered + f.redelivered;
      }
      out.push({
        group,
        patterns,
        pending,
        ...(lag === undefined ? {} : { lag }),
        ...(redelivered === undefined ? {} : { redelivered }),
      });
    }
    return out;
  }

  async #streamFigures(
    subject: string,
    group: string,
    registrations: Registrations,
    rowsOf: (stream: string) => Promise<Map<string, GroupRow> | undefined>,
  ): Promise<{ pending: number; lag: number | undefined; redelivered: number | undefined } | undefined> {
    const stream = this.#keys.stream(subject);
    const rows = await rowsOf(stream);
    if (!rows) return undefined;
    const row = rows.get(group);
    if (row) {
      return {
        pending: row.pending,
        lag: row.lag,
        redelivered: await this.#redelivered(stream, group, row.pending),
      };
    }
    // no member has created the consumer group here yet: it will read from the group's start
    const birth = await this.#bounded('management: HGET', this.#client.hget(this.#keys.births, subject));
    const start = startFor(subject, birth, registrations, '0');
    const length =
      start === '0' ? await this.#bounded('management: XLEN', this.#client.xlen(stream)) : undefined;
    return { pending: 0, lag: length, redelivered: 0 };
  }
}
