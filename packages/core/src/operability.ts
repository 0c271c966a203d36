import { redact } from './redact.js';
import type { DeliveryLevel } from './types.js';

/**
 * Where Omnibus reports what an operator should know. The minimal shape that
 * `console`, pino and winston all satisfy: each method takes one string.
 * Omnibus calls `warn` for dead-letters, connection loss and recovery, and
 * `info`/`debug` (when present) for less urgent events. Messages are redacted.
 */
export interface Logger {
  warn(message: string): void;
  info?(message: string): void;
  debug?(message: string): void;
  error?(message: string): void;
}

/** A logger that drops everything (`logger: silentLogger`). */
export const silentLogger: Logger = { warn() {} };

/**
 * A status change reported by an adapter: connection, consumer and client events.
 * `connection` marks the two an operator must see: the connection to the backend
 * was `lost`, or `restored`. Never contains credentials.
 */
export interface BusStatus {
  readonly type: string;
  readonly detail?: string;
  readonly connection?: 'lost' | 'restored';
}

/** What `bus.health()` answers: for readiness probes. */
export interface BusHealth {
  /** True when the bus is open and its backend answered now. */
  readonly ok: boolean;
  readonly backend: string;
  /** `open`, `closing` or `closed`. */
  readonly state: 'open' | 'closing' | 'closed';
  /** Whether the last connection event was a loss not yet followed by a recovery. */
  readonly connectionLost: boolean;
  /** Round trip of the probe (ms), when the backend was asked. */
  readonly latencyMs?: number;
  /** Why `ok` is false (redacted). */
  readonly detail?: string;
}

/** Options `createBus` takes besides the driver. */
export interface BusOptions {
  /** Default: `console` (warn level and up are what Omnibus reports by default). `silentLogger` for none. */
  logger?: Logger;
  /**
   * Every status change the adapter reports, including connection loss and recovery, and
   * the bus's own (dead-lettering failing, working again): called once per status, by the
   * bus only. Adapters pass their own `onStatus` option here. A throwing listener is ignored.
   */
  onStatus?: (status: BusStatus) => void;
  /**
   * How long `subscribe`/`consume` keep trying while the backend is unreachable
   * (ms): an attempt that fails while the connection is lost, or while the
   * driver's `probe()` gets no answer, is tried again until then, so a
   * subscription made during a short outage starts when the broker is back —
   * as a publish waits for the reconnect. Adapters pass their `publishTimeoutMs`.
   * Default 0: one attempt.
   */
  subscribeTimeoutMs?: number;
  /**
   * The delivery level of every `publish`, `publishBatch` entry, `subscribe` and `consume` that
   * does not choose one: `'at-least-once'` (the default) or `'at-most-once'` (where
   * `capabilities.atMostOnce`; see docs/contract.md, "Delivery levels"). A call's own `delivery`
   * wins. Adapters pass their `delivery` option (and the URL's `?delivery=`) here. A level the
   * backend has no path for is a `ConfigError` (field `delivery`) from `createBus`.
   */
  delivery?: DeliveryLevel;
}

/** Longest delay `setTimeout` honours (about 24.8 days); a longer one fires at once. */
/** The longest delay a Node timer keeps (a longer one fires after 1 ms); PostgreSQL's largest timeout too. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * A caller's timeout made safe for timers: `Infinity` and anything above the timer limit
 * become that limit (Node would fire them after 1 ms), negative or `NaN` become 0.
 */
export function timerMs(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(ms, MAX_TIMER_MS);
}

/** Calls a logger method without letting a throwing logger break the bus. */
export function log(logger: Logger, level: keyof Logger, message: string): void {
  try {
    const method = logger[level] ?? (level === 'error' ? logger.warn : undefined);
    method?.call(logger, redact(message));
  } catch {
    // a logger must never break message flow
  }
}

/**
 * `promise`, or a rejection with `Error(message)` after `ms` (the timer is cleared
 * either way). What a backend call bounded by a timeout needs; the call itself
 * goes on, so its outcome is unknown when this rejects.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), timerMs(ms));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits for `promise` at most `ms`: true when it settled (resolved or rejected)
 * in time, false otherwise. The timer is cleared either way, so a bounded wait
 * never keeps the process alive. For adapters' bounded close and stop.
 */
export async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timerMs(ms));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
