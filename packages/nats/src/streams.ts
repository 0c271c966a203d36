import type { JetStreamManager, StreamInfo } from '@nats-io/jetstream';
import { ConfigError, safeCause, subjectMatches } from '@omnibus/core';
import { LEDGER_STREAM } from './hand-out-ledger.js';
import { isStreamNotFound } from './nats-errors.js';
import type { ResolvedNatsOptions, StreamDefinition } from './options.js';
import { conflictError, differences, hasSettings, type StreamTarget, toConfig } from './stream-config.js';

export type { StreamTarget } from './stream-config.js';

const SAFE = /^[A-Za-z0-9_-]+$/;

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
    return { name, subjects, settings: explicit, explicit, role: 'configured' };
  }

  #auto(token: string): StreamTarget {
    const safe = SAFE.test(token) ? token : `h${hash(token)}`;
    return {
      name: `${this.#options.streamPrefix}_${safe}`,
      subjects: [token, `${token}.>`],
      settings: this.#options.streamDefaults,
      explicit: this.#options.streamDefaults,
      role: 'automatic',
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
   * it) or one this bus adopted; never the hand-out ledger.
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
   * Fails early, at `createNatsBus`, with the `ConfigError` the first publish or
   * subscribe would otherwise meet: lists the streams once and verifies the explicit
   * streams, and the automatic streams of this `streamPrefix`, against the configured
   * settings. Only when settings were given (explicit `streams`, or any
   * `streamDefaults`): without them a bus uses whatever exists. Streams the bus would
   * never use are left alone (a longer prefix's `<prefix>_OTHER_<token>`, a token the
   * explicit streams hold). When the listing fails (no permission for the stream list,
   * say) nothing is checked here: every stream is still verified on first use.
   */
  async checkExisting(): Promise<void> {
    const autoChecked = hasSettings(this.#options.streamDefaults);
    if (this.#options.streams.length === 0 && !autoChecked) return;
    const infos: StreamInfo[] = [];
    try {
      for await (const info of this.#jsm.streams.list()) infos.push(info);
    } catch {
      return;
    }
    const conflicts: { target: StreamTarget; diff: string[] }[] = [];
    for (const info of infos) {
      const target = this.#existingTarget(info, autoChecked);
      const diff = target ? differences(info.config, target) : [];
      if (target && diff.length > 0) conflicts.push({ target, diff });
    }
    const [first, ...rest] = conflicts;
    if (first) {
      const others = rest.map((c) => c.target.name);
      throw conflictError(first.target.name, first.target.role, first.diff, others);
    }
  }

  /** The target that would verify the existing stream on its first use; undefined when none would. */
  #existingTarget(info: StreamInfo, autoChecked: boolean): StreamTarget | undefined {
    const { name, subjects = [] } = info.config;
    const def = this.#options.streams.find((d) => d.name === name);
    if (def) return this.#explicit(def);
    if (!autoChecked || !name.startsWith(`${this.#options.streamPrefix}_`)) return undefined;
    // an automatic stream of this prefix holds `<token>` and `<token>.>` under the name made from the token
    for (const token of subjects) {
      if (/[.*>]/.test(token) || !subjects.includes(`${token}.>`) || this.#auto(token).name !== name)
        continue;
      const used = this.forSubject(token).name === name || this.forPattern(`${token}.>`).name === name;
      return used ? this.#auto(token) : undefined;
    }
    return undefined;
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

  /**
   * An adopted stream (another prefix's, another application's) must match the settings
   * set explicitly too: used silently, it would ignore them (a `storage: 'memory'` bus
   * storing on file). Its subjects are not compared: it holds the target's by definition.
   */
  async #verifyAdopted(holder: string, target: StreamTarget): Promise<void> {
    if (!hasSettings(target.explicit)) return;
    // gone meanwhile: the publish or subscribe that uses it finds out
    const info = await this.#jsm.streams.info(holder).catch(() => undefined);
    if (!info) return;
    const diff = differences(info.config, { ...target, name: holder, subjects: [] });
    if (diff.length > 0) throw conflictError(holder, 'adopted', diff);
  }

  async #ensure(target: StreamTarget): Promise<string> {
    try {
      const info = await this.#jsm.streams.info(target.name);
      const diff = differences(info.config, target);
      if (diff.length > 0) throw conflictError(target.name, target.role, diff);
      return target.name;
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
    }
    const isAuto = !this.#options.streams.some((d) => d.name === target.name);
    if (isAuto) {
      // another stream (another prefix, another application) may already hold these subjects
      const holder = await this.#jsm.streams.find(target.subjects[1] as string).catch(() => undefined);
      if (holder) {
        await this.#verifyAdopted(holder, target);
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
