import type { JetStreamManager, RetentionPolicy, StorageType, StreamConfig } from '@nats-io/jetstream';
import { ConfigError, safeCause, subjectMatches } from '@omnibus/core';
import { isStreamNotFound } from './nats-errors.js';
import type { ResolvedNatsOptions, StreamDefinition, StreamSettings } from './options.js';
import { LEDGER_STREAM } from './release-ledger.js';

/** A stream Omnibus routes to. */
export interface StreamTarget {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly settings: StreamSettings;
  /** The settings the user set explicitly (only these are verified on existing streams). */
  readonly explicit: StreamSettings;
}

const SAFE = /^[A-Za-z0-9_-]+$/;
const MS = 1_000_000; // nanoseconds per millisecond

/** A short stable hash (FNV-1a, hex) for names derived from arbitrary text. */
export function hash(text: string): string {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Whether every subject matching `pattern` also matches the stream filter `filter`. */
export function filterCovers(filter: string, pattern: string): boolean {
  const f = filter.split('.');
  const p = pattern.split('.');
  for (let i = 0; i < f.length; i++) {
    const ft = f[i];
    if (ft === '>') return i < p.length;
    const pt = p[i];
    if (pt === undefined || pt === '>') return false;
    if (ft === '*') continue;
    if (pt === '*' || pt !== ft) return false;
  }
  return f.length === p.length;
}

/**
 * The subjects both `a` and `b` match, as one pattern, or `undefined` when none: the
 * intersection of two NATS patterns is always empty or a single pattern.
 */
export function intersect(a: string, b: string): string | undefined {
  const x = a.split('.');
  const y = b.split('.');
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const xt = x[i];
    const yt = y[i];
    if (xt === undefined || yt === undefined) return xt === yt ? out.join('.') : undefined;
    if (xt === '>') return [...out, ...y.slice(i)].join('.');
    if (yt === '>') return [...out, ...x.slice(i)].join('.');
    if (xt === '*') out.push(yt);
    else if (yt === '*' || yt === xt) out.push(xt);
    else return undefined;
  }
}

const reserved = (subject: string) => subject.startsWith('$') || subject.startsWith('_');

/**
 * The consumer filters that select, within a stream holding `subjects`, exactly the
 * messages `pattern` matches. JetStream (2.9) refuses a filter that is neither inside
 * one of the stream's subjects nor wider than one (`*.created` on a stream of
 * `orders.>`), so the pattern is narrowed to its intersection with each subject
 * (`orders.created`); a pattern wider than every subject is used as it is. Empty when
 * the stream cannot hold a matching subject; subjects reserved for the server and
 * Omnibus (`$…`, `_…`) are left out.
 */
export function filtersFor(pattern: string, subjects: readonly string[]): string[] {
  const own = subjects.filter((s) => !reserved(s));
  if (own.length === 0) return [];
  if (own.length === subjects.length && own.every((s) => filterCovers(pattern, s))) return [pattern];
  const parts = own.map((s) => intersect(pattern, s)).filter((f): f is string => f !== undefined);
  // drop a part another part already covers (overlapping stream subjects)
  return [...new Set(parts)].filter(
    (f, i, all) => !all.some((g, j) => j !== i && g !== f && filterCovers(g, f)),
  );
}

function toConfig(target: StreamTarget): Partial<StreamConfig> & { name: string } {
  const s = target.settings;
  return {
    name: target.name,
    subjects: [...target.subjects],
    retention: (s.retention ?? 'limits') as RetentionPolicy,
    storage: (s.storage ?? 'file') as StorageType,
    max_age: (s.maxAgeMs ?? 0) * MS,
    max_bytes: s.maxBytes ?? -1,
    num_replicas: s.replicas ?? 1,
    // the server refuses a dedupe window longer than max_age
    duplicate_window: (s.duplicateWindowMs ?? (s.maxAgeMs ? Math.min(120_000, s.maxAgeMs) : 120_000)) * MS,
  };
}

function differences(existing: StreamConfig, target: StreamTarget): string[] {
  const out: string[] = [];
  for (const subject of target.subjects) {
    if (!existing.subjects?.includes(subject))
      out.push(`subjects lacks "${subject}" (has ${JSON.stringify(existing.subjects)})`);
  }
  const e = target.explicit;
  const want = toConfig(target);
  if (e.retention !== undefined && existing.retention !== want.retention)
    out.push(`retention is ${existing.retention}, config says ${want.retention}`);
  if (e.storage !== undefined && existing.storage !== want.storage)
    out.push(`storage is ${existing.storage}, config says ${want.storage}`);
  if (e.maxAgeMs !== undefined && existing.max_age !== want.max_age)
    out.push(`max_age is ${existing.max_age / MS} ms, config says ${e.maxAgeMs} ms`);
  if (e.maxBytes !== undefined && existing.max_bytes !== want.max_bytes)
    out.push(`max_bytes is ${existing.max_bytes}, config says ${e.maxBytes}`);
  if (e.replicas !== undefined && existing.num_replicas !== want.num_replicas)
    out.push(`replicas is ${existing.num_replicas}, config says ${e.replicas}`);
  if (e.duplicateWindowMs !== undefined && existing.duplicate_window !== want.duplicate_window) {
    out.push(
      `duplicate_window is ${existing.duplicate_window / MS} ms, config says ${e.duplicateWindowMs} ms`,
    );
  }
  return out;
}

/**
 * Maps subjects and patterns to streams and provisions them: explicit streams
 * first, otherwise one automatic stream per first subject token. Existing streams
 * are verified, never changed: a difference is a `ConfigError`.
 */
export class StreamRegistry {
  readonly #jsm: JetStreamManager;
  readonly #options: ResolvedNatsOptions;
  readonly #ready = new Map<string, Promise<string>>();
  readonly #adopted = new Set<string>();
  /** Streams this bus created (for tests and tooling). */
  readonly created: string[] = [];

  constructor(jsm: JetStreamManager, options: ResolvedNatsOptions) {
    this.#jsm = jsm;
    this.#options = options;
  }

  #explicit(def: StreamDefinition): StreamTarget {
    const { name, subjects, ...own } = def;
    const explicit = { ...this.#options.streamDefaults, ...own };
    return { name, subjects, settings: explicit, explicit };
  }

  #auto(token: string): StreamTarget {
    const safe = SAFE.test(token) ? token : `h${hash(token)}`;
    return {
      name: `${this.#options.streamPrefix}_${safe}`,
      subjects: [token, `${token}.>`],
      settings: this.#options.streamDefaults,
      explicit: this.#options.streamDefaults,
    };
  }

  /** The stream that stores `subject`. */
  forSubject(subject: string): StreamTarget {
    for (const def of this.#options.streams) {
      if (def.subjects.some((f) => subjectMatches(f, subject))) return this.#explicit(def);
    }
    return this.#auto(subject.split('.', 1)[0] as string);
  }

  /**
   * Whether `pattern` starts with a wildcard and no explicit stream holds all it can
   * match: its subjects are spread over automatic streams, so a subscription runs a
   * consumer on each of them (see `FanOut`).
   */
  spansStreams(pattern: string): boolean {
    const first = pattern.split('.', 1)[0] as string;
    if (first !== '*' && first !== '>') return false;
    return !this.#options.streams.some((def) => def.subjects.some((f) => filterCovers(f, pattern)));
  }

  /**
   * Whether messages this adapter publishes can be stored in the stream `name`: an
   * explicit stream, an automatic one (`<streamPrefix>_…`, whichever process created
   * it) or one this bus adopted; never the release ledger.
   */
  manages(name: string): boolean {
    if (name === LEDGER_STREAM) return false;
    return (
      this.#options.streams.some((d) => d.name === name) ||
      name.startsWith(`${this.#options.streamPrefix}_`) ||
      this.#adopted.has(name)
    );
  }

  /** The one stream that holds every subject `pattern` can match. */
  forPattern(pattern: string): StreamTarget {
    for (const def of this.#options.streams) {
      if (def.subjects.some((f) => filterCovers(f, pattern))) return this.#explicit(def);
    }
    const first = pattern.split('.', 1)[0] as string;
    if (first === '*' || first === '>') {
      throw new ConfigError(
        'pattern',
        `"${pattern}" starts with a wildcard and spans streams: it is served by a consumer per stream, not by one stream`,
        { backend: 'nats' },
      );
    }
    return this.#auto(first);
  }

  /**
   * Creates or verifies the stream once per bus and resolves with the name of the
   * stream that holds the target's subjects (an automatic target adopts an existing
   * stream that already holds them).
   */
  ensure(target: StreamTarget): Promise<string> {
    let ready = this.#ready.get(target.name);
    if (!ready) {
      ready = this.#ensure(target);
      this.#ready.set(target.name, ready);
      ready.catch(() => this.#ready.delete(target.name));
    }
    return ready;
  }

  /** Forgets that a stream was verified (after it was deleted from outside). */
  forget(name: string): void {
    this.#ready.delete(name);
  }

  async #ensure(target: StreamTarget): Promise<string> {
    try {
      const info = await this.#jsm.streams.info(target.name);
      const diff = differences(info.config, target);
      if (diff.length > 0) {
        throw new ConfigError(
          'streams',
          `stream ${target.name} exists with other settings: ${diff.join('; ')}. Omnibus never changes an existing stream.`,
          {
            backend: 'nats',
            hint: 'use a new streamPrefix (or leave the stream settings out) to keep the existing stream, or change or delete it yourself (nats stream edit / rm) if you mean to',
          },
        );
      }
      return target.name;
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
    }
    const isAuto = !this.#options.streams.some((d) => d.name === target.name);
    if (isAuto) {
      // another stream (another prefix, another application) may already hold these subjects
      const holder = await this.#jsm.streams.find(target.subjects[1] as string).catch(() => undefined);
      if (holder) {
        this.#adopted.add(holder);
        return holder;
      }
    }
    if (this.#options.provision === 'verify') {
      throw new ConfigError('provision', `stream ${target.name} does not exist and provision is 'verify'`, {
        backend: 'nats',
      });
    }
    try {
      await this.#jsm.streams.add(toConfig(target));
      this.created.push(target.name);
      return target.name;
    } catch (error) {
      // another process may have created it meanwhile: verify instead
      const info = await this.#jsm.streams.info(target.name).catch(() => undefined);
      if (info && differences(info.config, target).length === 0) return target.name;
      throw new ConfigError(
        'streams',
        `the server refused to create stream ${target.name}: ${(error as Error)?.message ?? error}`,
        {
          backend: 'nats',
          cause: safeCause(error),
        },
      );
    }
  }
}
