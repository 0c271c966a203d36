// One loop behind the overview and groups pages: every interval it reads the bus's health, its
// stats (turned into rates) and the groups (each group's lag kept as a bounded history for the
// chart). Pages read the last sample; however many are open, the broker is asked once per interval.
import type { BusHealth, BusStats, EventBus, GroupInfo } from '@omnibus/core';
import { manage, redact } from '@omnibus/core';
import { errorLine } from '../errors.js';
import { groupRow } from './views.js';

/** Points of lag history kept per group. */
export const HISTORY_POINTS = 120;
/** No page asked for this long: the broker is not asked either (no steady admin load on Kafka). */
const IDLE_MS = 30_000;
/** Groups tracked at most (the rest are listed without history). */
const MAX_TRACKED_GROUPS = 1_000;

/** Per-second rates of this process's bus, from two readings of `bus.stats()`. */
export interface Rates {
  readonly published: number;
  readonly delivered: number;
  readonly acked: number;
  readonly deadLettered: number;
  readonly errors: number;
}

/** A group with its lag history: `[epoch ms, lag]` pairs, oldest first. */
export type GroupSample = ReturnType<typeof groupRow> & { readonly history: [number, number][] };

/** What one round of the sampler read. */
export interface Sample {
  readonly at: number;
  readonly health: BusHealth | undefined;
  readonly stats: BusStats;
  readonly rates: Rates;
  readonly groups: GroupSample[];
  /** Why the groups could not be read (redacted), when they could not. */
  readonly groupsError?: string;
}

const ZERO: Rates = { published: 0, delivered: 0, acked: 0, deadLettered: 0, errors: 0 };

function rates(before: BusStats | undefined, after: BusStats, seconds: number): Rates {
  if (!before || seconds <= 0) return ZERO;
  const rate = (k: keyof Rates) => Math.max(0, Math.round(((after[k] - before[k]) / seconds) * 10) / 10);
  return {
    published: rate('published'),
    delivered: rate('delivered'),
    acked: rate('acked'),
    deadLettered: rate('deadLettered'),
    errors: rate('errors'),
  };
}

/** Samples `bus` every `intervalMs` until stopped; `latest()` is never older than one interval. */
export class Sampler {
  readonly #bus: EventBus;
  readonly #intervalMs: number;
  readonly #history = new Map<string, [number, number][]>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #latest: Sample | undefined;
  #stopped = false;
  #lastRead = Date.now();
  #asked: Promise<void> | undefined;

  constructor(bus: EventBus, intervalMs: number) {
    this.#bus = bus;
    this.#intervalMs = intervalMs;
  }

  /** Takes the first sample, then one per interval. */
  async start(): Promise<void> {
    await this.#round();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      if (Date.now() - this.#lastRead > IDLE_MS) {
        this.#schedule(); // nobody is looking
        return;
      }
      this.#running = this.#round().finally(() => {
        this.#running = undefined;
        this.#schedule();
      });
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /** The last sample (taken now when there is none, or it is stale after an idle spell). */
  async latest(): Promise<Sample> {
    this.#lastRead = Date.now();
    const stale = !this.#latest || Date.now() - this.#latest.at > 2 * this.#intervalMs + 2_000;
    if (stale) {
      this.#asked ??= (this.#running ?? this.#round()).finally(() => {
        this.#asked = undefined;
      });
      await this.#asked;
    }
    return this.#latest as Sample;
  }

  async #round(): Promise<void> {
    const bus = this.#bus;
    const at = Date.now();
    const health = await bus.health(2_000).catch(() => undefined);
    const stats = bus.stats();
    let groups: GroupInfo[] = [];
    let groupsError: string | undefined;
    try {
      groups = await manage(bus).groups();
    } catch (error) {
      groupsError = errorLine(error);
    }
    const seen = new Set<string>();
    const samples = groups.map((g): GroupSample => {
      const row = groupRow(g);
      seen.add(g.group);
      let history = this.#history.get(g.group);
      if (!history && this.#history.size < MAX_TRACKED_GROUPS) {
        history = [];
        this.#history.set(g.group, history);
      }
      if (history && g.lag !== undefined) {
        history.push([at, g.lag]);
        if (history.length > HISTORY_POINTS) history.splice(0, history.length - HISTORY_POINTS);
      }
      return { ...row, history: history ? [...history] : [] };
    });
    if (!groupsError)
      for (const name of this.#history.keys()) if (!seen.has(name)) this.#history.delete(name);
    const before = this.#latest;
    this.#latest = {
      at,
      health: health && { ...health, ...(health.detail ? { detail: redact(health.detail) } : {}) },
      stats,
      rates: rates(before?.stats, stats, before ? (at - before.at) / 1000 : 0),
      groups: samples,
      ...(groupsError ? { groupsError } : {}),
    };
  }

  /** Stops sampling and waits for a round under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}
