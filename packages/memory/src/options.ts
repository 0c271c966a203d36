import {
  ConfigError,
  DEFAULT_MAX_PAYLOAD_BYTES,
  type DeliveryLevel,
  deliveryOption,
  type Logger,
  type OptionNames,
  rejectUnknownOptions,
} from '@omnibus/core';

/** What the memory bus does when a subscription's (or group's) buffer is full. */
export type OverflowPolicy = 'block' | 'drop-oldest' | 'drop-newest';

/** Information passed to `onDrop` when a dropping overflow policy discards a message. */
export interface DropInfo {
  readonly id: string;
  readonly subject: string;
  /** Pattern of the lagging subscription or group. */
  readonly pattern: string;
  readonly group: string | undefined;
  readonly policy: OverflowPolicy;
  /**
   * `overflow`: the subscription or group lags behind its `maxBuffered`. `group-without-members`:
   * every member of the group has left, and it keeps only its newest `maxBuffered` messages
   * (always `drop-oldest`, whatever `overflow` says: a group nobody reads never blocks publishers).
   */
  readonly reason: 'overflow' | 'group-without-members';
}

/** Options of `createMemoryBus`. Every field is optional. */
export interface MemoryBusOptions {
  /** Largest payload accepted (default 1 MiB). */
  maxPayloadBytes?: number;
  /** Publisher ids are remembered this long for dedupe (default 120,000 ms, as JetStream). */
  dedupeWindowMs?: number;
  /** At most this many ids remembered; the oldest are forgotten first (default 100,000). */
  dedupeMaxEntries?: number;
  /**
   * Keep recent messages for `from: 'earliest'` and `from: { time }`. Off by default
   * (then `capabilities.replay` is false and replay requests are refused).
   */
  history?: { maxMessages?: number; maxAgeMs?: number } | boolean;
  /** Messages waiting for one subscription or group, beyond which `overflow` applies (default 10,000). */
  maxBuffered?: number;
  /**
   * `block` (default): `publish` waits until every matching buffer has room, then
   * enqueues everywhere at once; after `blockTimeoutMs` it rejects with
   * `BackpressureError` and nothing was enqueued. `drop-oldest` / `drop-newest`:
   * never wait; the dropped message is counted in `stats().dropped` and passed to `onDrop`.
   */
  overflow?: OverflowPolicy;
  /** How long a blocked publish waits (default 30,000 ms). */
  blockTimeoutMs?: number;
  /** Called for each dropped message (dropping policies only). */
  onDrop?: (info: DropInfo) => void;
  /** Where dead-letters are reported (default `console`; `silentLogger` for none). */
  logger?: Logger;
  /**
   * The delivery level of every publish and subscription that does not choose one (default
   * `'at-least-once'`; `'at-most-once'` takes the fast path — docs/contract.md, "Delivery
   * levels"). URL: `?delivery=at-most-once`.
   */
  delivery?: DeliveryLevel;
}

/** Every option name of `createMemoryBus`; anything else is refused as a likely typo. */
export const MEMORY_OPTION_NAMES: OptionNames<MemoryBusOptions> = {
  maxPayloadBytes: true,
  dedupeWindowMs: true,
  dedupeMaxEntries: true,
  history: true,
  maxBuffered: true,
  overflow: true,
  blockTimeoutMs: true,
  onDrop: true,
  logger: true,
  delivery: true,
};

/** Options after validation. */
export interface ResolvedMemoryOptions {
  maxPayloadBytes: number;
  dedupeWindowMs: number;
  dedupeMaxEntries: number;
  history: { maxMessages: number; maxAgeMs: number } | undefined;
  maxBuffered: number;
  overflow: OverflowPolicy;
  blockTimeoutMs: number;
  onDrop: ((info: DropInfo) => void) | undefined;
  logger: Logger | undefined;
  delivery: DeliveryLevel | undefined;
}

function count(field: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ConfigError(field, `must be an integer ≥ ${min}`, { backend: 'memory' });
  }
  return value;
}

/**
 * Validates memory options and fills defaults; throws `ConfigError` naming the
 * field, including for option names it does not know (`histroy`).
 */
export function resolveMemoryOptions(options: MemoryBusOptions = {}): ResolvedMemoryOptions {
  rejectUnknownOptions(options, MEMORY_OPTION_NAMES, { backend: 'memory' });
  const overflow = options.overflow ?? 'block';
  if (!['block', 'drop-oldest', 'drop-newest'].includes(overflow)) {
    throw new ConfigError('overflow', `must be 'block', 'drop-oldest' or 'drop-newest'`, {
      backend: 'memory',
    });
  }
  let history: ResolvedMemoryOptions['history'];
  if (options.history === true) history = { maxMessages: 10_000, maxAgeMs: Number.POSITIVE_INFINITY };
  else if (options.history && typeof options.history === 'object') {
    rejectUnknownOptions(options.history, ['maxMessages', 'maxAgeMs'], {
      backend: 'memory',
      prefix: 'history',
    });
    history = {
      maxMessages: count('history.maxMessages', options.history.maxMessages, 10_000),
      maxAgeMs: count('history.maxAgeMs', options.history.maxAgeMs, Number.MAX_SAFE_INTEGER),
    };
  } else if (options.history !== undefined && options.history !== false) {
    throw new ConfigError('history', 'must be true, false or { maxMessages, maxAgeMs }', {
      backend: 'memory',
    });
  }
  if (options.onDrop !== undefined && typeof options.onDrop !== 'function') {
    throw new ConfigError('onDrop', 'must be a function', { backend: 'memory' });
  }
  return {
    maxPayloadBytes: count('maxPayloadBytes', options.maxPayloadBytes, DEFAULT_MAX_PAYLOAD_BYTES),
    dedupeWindowMs: count('dedupeWindowMs', options.dedupeWindowMs, 120_000, 0),
    dedupeMaxEntries: count('dedupeMaxEntries', options.dedupeMaxEntries, 100_000),
    history,
    maxBuffered: count('maxBuffered', options.maxBuffered, 10_000),
    overflow,
    blockTimeoutMs: count('blockTimeoutMs', options.blockTimeoutMs, 30_000, 0),
    onDrop: options.onDrop,
    logger: options.logger,
    delivery: deliveryOption(options.delivery, 'memory'),
  };
}
