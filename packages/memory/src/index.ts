import {
  createBus,
  type EventBus,
  generateId,
  type Payload,
  type PublishOptions,
  type PublishReceipt,
  TimeoutError,
} from '@omnibus/core';
import { DeliveryTracker, type HandlerFailure } from './delivery-tracker.js';
import { MemoryDriver } from './memory-driver.js';
import { type MemoryBusOptions, resolveMemoryOptions } from './options.js';

export type { HandlerFailure } from './delivery-tracker.js';
export type { DropInfo, MemoryBusOptions, OverflowPolicy } from './options.js';

// `@omnibus/factory` types `createEventBus({ backend: 'memory', … })` and the `memory` block of
// `createEventBusFromEnv` with these options, once this package's types are in the program.
declare module '@omnibus/core' {
  interface BackendOptionsRegistry {
    /** `createMemoryBus` options. */
    memory: MemoryBusOptions;
  }
}

/** Result of `publishAndWait`. */
export interface PublishAndWaitResult {
  readonly receipt: PublishReceipt;
  /** Every handler error raised for this message, across subscriptions and attempts, in order. */
  readonly errors: readonly HandlerFailure[];
}

/** The in-memory bus: the full `EventBus` contract plus `publishAndWait`. */
export interface MemoryBus extends EventBus {
  /**
   * Publishes and waits until every matching subscription and group has settled
   * the message for good (acked or dead-lettered, retries included). Resolves with
   * the handler errors seen on the way. Rejects with `TimeoutError` after
   * `timeoutMs` (default 30 s).
   */
  publishAndWait(
    subject: string,
    payload: Payload,
    options?: PublishOptions & { timeoutMs?: number },
  ): Promise<PublishAndWaitResult>;
}

/**
 * Creates an in-process bus: no network, no dependencies, deterministic
 * per-subject order. See the package README for the buffer policy, history and
 * dedupe options.
 */
export function createMemoryBus(options: MemoryBusOptions = {}): MemoryBus {
  const resolved = resolveMemoryOptions(options);
  const driver = new MemoryDriver(resolved);
  const bus = createBus(driver, { logger: resolved.logger, delivery: resolved.delivery });
  const publishAndWait: MemoryBus['publishAndWait'] = async (subject, payload, opts = {}) => {
    const { timeoutMs = 30_000, ...publishOptions } = opts;
    const id = publishOptions.id ?? generateId();
    const tracker = new DeliveryTracker();
    driver.track(id, tracker);
    let receipt: PublishReceipt;
    try {
      receipt = await bus.publish(subject, payload, { ...publishOptions, id });
    } finally {
      driver.untrack(id);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new TimeoutError(`handlers of "${subject}" did not finish within ${timeoutMs} ms`, {
              backend: 'memory',
              hint: 'a handler is still running, or the message waits for a retry (backoff) or for a subscription that stopped reading: raise timeoutMs, or shorten the backoff in tests',
            }),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([tracker.done, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return { receipt, errors: [...tracker.failures] };
  };
  return Object.assign(bus, { publishAndWait });
}
