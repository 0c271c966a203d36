import { closeBus } from './bus-close.js';
import { checkHealth } from './bus-health.js';
import { BusState } from './bus-state.js';
import { ConnectionStatus } from './connection-status.js';
import type { BusDriver } from './driver.js';
import { InvalidArgumentError } from './errors.js';
import { startConsumeLoop } from './handler-runner.js';
import { Interceptors } from './interceptors.js';
import { attachManagement } from './management/manage.js';
import { attachObservability, Observers } from './observer.js';
import type { BusOptions, Logger } from './operability.js';
import { rejectUnknownOptions } from './options.js';
import { createPublisher } from './publisher.js';
import { createStats } from './stats.js';
import { closable, Subscriptions } from './subscriptions.js';
import type { DeliveryLevel, EventBus, Message } from './types.js';
import { resolveDelivery } from './validate.js';

/** The option names of `subscribe` (`SubscribeOptions`) and `consume` (`ConsumeOptions`). */
const SUBSCRIBE_OPTIONS = [
  'group',
  'from',
  'ack',
  'maxInFlight',
  'maxAttempts',
  'backoff',
  'deadLetter',
  'ackTimeoutMs',
  'signal',
  'delivery',
] as const;
const CONSUME_OPTIONS = [...SUBSCRIBE_OPTIONS, 'onError'] as const;

/**
 * Builds a complete `EventBus` from a transport driver. Everything the contract
 * requires beyond moving bytes — validation, payload limits, receipts, stats,
 * `consume` with retries and dead-letter, `maxInFlight`, `AbortSignal`, drain on
 * close, `BusClosedError` afterwards — is implemented here once for every adapter.
 * The driver's status changes go through the bus to `options.onStatus`, once each.
 */
export function createBus(driver: BusDriver, options: BusOptions = {}): EventBus {
  const { backend } = driver;
  const capabilities = driver.management
    ? Object.freeze({ ...driver.capabilities, management: true })
    : driver.capabilities;
  const logger: Logger = options.logger ?? console;
  const delivery = busDelivery(driver, options.delivery);
  const stats = createStats();
  const state = new BusState(backend);
  const status = new ConnectionStatus(backend, logger, options.onStatus);
  driver.setStatusListener?.(status.report);
  const observers = new Observers();
  observers.onFault(() => {
    stats.errors++;
  });
  const interceptors = new Interceptors(backend);
  const publishing = { publishing: 0, observers, interceptors };
  const publisher = createPublisher(driver, stats, state.assertOpen, publishing, delivery);
  const subscriptions = new Subscriptions({
    observers,
    interceptors,
    driver,
    state,
    status,
    stats,
    logger,
    subscribeTimeoutMs: options.subscribeTimeoutMs ?? 0,
    delivery,
    // unreachable now: its connection is reported lost, or `health()` (its probe) fails within 2 s
    backendAway: async () => status.lost || !(await bus.health(2_000)).ok,
  });
  let closing: Promise<void> | undefined;

  const bus: EventBus = {
    backend,
    capabilities,
    publish: publisher.publish,
    publishBatch: publisher.publishBatch,

    async subscribe(pattern, subscribeOptions = {}) {
      // a misspelt `group` would quietly turn a work queue into fan-out: refused, with a suggestion
      rejectUnknownOptions(subscribeOptions, SUBSCRIBE_OPTIONS, { backend, what: 'subscribe option' });
      const runtime = await subscriptions.open(pattern, subscribeOptions);
      return {
        ...closable(pattern, runtime),
        [Symbol.asyncIterator]: (): AsyncIterator<Message> => runtime.iterator(),
      };
    },

    async consume(pattern, handler, consumeOptions = {}) {
      if (typeof handler !== 'function')
        throw new InvalidArgumentError('consume needs a handler function', { backend });
      rejectUnknownOptions(consumeOptions, CONSUME_OPTIONS, { backend, what: 'consume option' });
      const runtime = await subscriptions.open(pattern, consumeOptions);
      startConsumeLoop(runtime, handler, stats, consumeOptions.onError);
      return closable(pattern, runtime);
    },

    stats() {
      const extra = driver.extraStats?.();
      // the driver's own skips (a dropping overflow policy) add to core's (at-most-once subscribers)
      return extra?.dropped === undefined
        ? { ...stats }
        : { ...stats, dropped: stats.dropped + extra.dropped };
    },

    health(timeoutMs = 2_000) {
      return checkHealth(driver, state, status, timeoutMs);
    },

    close(closeOptions = {}) {
      closing ??= closeBus({ driver, state, subscriptions, stats, logger }, closeOptions);
      return closing;
    },

    [Symbol.asyncDispose]() {
      return bus.close();
    },
  };
  attachManagement(bus, driver, state.assertOpen);
  attachObservability(bus, {
    observers,
    interceptors,
    activity: () => ({
      publishing: publishing.publishing,
      ...subscriptions.activity(),
      ...driver.activity?.(Date.now()),
    }),
  });
  return bus;
}

/**
 * `BusOptions.delivery` checked against the backend. A level it has no path for closes the
 * driver (in the background: `createBus` is synchronous) and throws the `ConfigError`.
 */
function busDelivery(driver: BusDriver, delivery: unknown): DeliveryLevel {
  try {
    return resolveDelivery(delivery, driver.capabilities, driver.backend);
  } catch (error) {
    void driver.close().catch(() => undefined);
    throw error;
  }
}
