import { subscribeWithin } from './bounded-subscribe.js';
import type { BusState } from './bus-state.js';
import type { ConnectionStatus } from './connection-status.js';
import type { BusDriver, OutgoingMessage } from './driver.js';
import { AbortedError, BusClosedError, ConnectionError, OmnibusError } from './errors.js';
import type { Interceptors } from './interceptors.js';
import type { Observers } from './observer.js';
import { type Logger, settledWithin } from './operability.js';
import { retryWhileAway } from './retry-while-away.js';
import type { StatsCounter } from './stats.js';
import { assertPattern } from './subject.js';
import { type RuntimeContext, SubscriptionRuntime } from './subscription-runtime.js';
import type { Consumer, DeliveryLevel, SubscribeOptions } from './types.js';
import { type ResolvedSubscribeOptions, resolveSubscribeOptions } from './validate.js';

/** How long past its deadline `close()` waits for a subscription to release what it still held. */
const RELEASE_AFTER_DEADLINE_MS = 100;

/** What the registry needs from its bus. */
export interface SubscriptionsContext {
  readonly driver: BusDriver;
  readonly state: BusState;
  readonly status: ConnectionStatus;
  readonly stats: StatsCounter;
  readonly logger: Logger;
  /** The bus's listeners (`observe`). */
  readonly observers: Observers;
  /** What runs around each handler (`intercept`, `interceptAll`). */
  readonly interceptors: Interceptors;
  /** `BusOptions.subscribeTimeoutMs`: how long a subscribe keeps trying while the backend is away. */
  readonly subscribeTimeoutMs: number;
  /** `BusOptions.delivery`: the level of a subscription that does not choose one. */
  readonly delivery: DeliveryLevel;
  /** Whether the backend is unreachable now (its probe, bounded). */
  backendAway(): Promise<boolean>;
}

/** The user-facing handle of a subscription or consumer. */
export function closable(pattern: string, runtime: SubscriptionRuntime): Consumer {
  return {
    pattern,
    group: runtime.group,
    closed: runtime.closed,
    close: () => runtime.close(),
    [Symbol.asyncDispose]: () => runtime.close(),
  };
}

/**
 * A bus's subscriptions: opens each one (options checked, started through a short
 * outage), keeps the live ones and the subscribe attempts still under way, and closes
 * them all when the bus closes.
 */
export class Subscriptions {
  readonly #bus: SubscriptionsContext;
  readonly #runtimes = new Set<SubscriptionRuntime>();
  /**
   * Subscribes not over yet, with their attempts (and the stopping of those given
   * up on, or arriving late): `close()` waits for them, bounded, before the driver
   * closes.
   */
  readonly #attemptsUnderWay = new Set<Promise<unknown>>();
  readonly #runtimeContext: RuntimeContext;
  #counter = 0;

  constructor(bus: SubscriptionsContext) {
    this.#bus = bus;
    const { driver, state, status, stats, logger, observers, interceptors } = bus;
    this.#runtimeContext = {
      backend: driver.backend,
      capabilities: driver.capabilities,
      stats,
      logger,
      observers,
      interceptors,
      reportStatus: status.report,
      publishDeadLetter: async (message: OutgoingMessage) => {
        if (state.phase === 'closed') throw new BusClosedError({ backend: driver.backend });
        await driver.publish(message);
      },
      onClosed: (runtime: SubscriptionRuntime) => {
        this.#runtimes.delete(runtime);
      },
    };
  }

  /** What the live subscriptions hold now, summed (for `activity()`). */
  activity(): { buffered: number; handedOut: number; settling: number } {
    let buffered = 0;
    let handedOut = 0;
    let settling = 0;
    for (const runtime of this.#runtimes) {
      const a = runtime.activity();
      buffered += a.buffered;
      handedOut += a.handedOut;
      settling += a.settling;
    }
    return { buffered, handedOut, settling };
  }

  readonly #trackAttempt = (over: Promise<unknown>): void => {
    this.#attemptsUnderWay.add(over);
    void over.finally(() => this.#attemptsUnderWay.delete(over));
  };

  /** Checks the request, then starts the subscription; resolves once it is live. */
  async open(pattern: string, options: SubscribeOptions): Promise<SubscriptionRuntime> {
    const { driver, state } = this.#bus;
    const { backend, capabilities } = driver;
    state.assertOpen();
    assertPattern(pattern, backend);
    const resolved = resolveSubscribeOptions(
      options,
      capabilities,
      backend,
      driver.capabilityHints,
      this.#bus.delivery,
    );
    if (resolved.signal?.aborted)
      throw new AbortedError('the subscription was aborted before it started', { backend });
    this.#counter++;
    // names broker-side objects: random, so two processes starting together never share one
    const id = `${globalThis.crypto.randomUUID().slice(0, 8)}${this.#counter.toString(36)}`;
    const runtime = new SubscriptionRuntime(id, pattern, resolved, this.#runtimeContext);
    this.#runtimes.add(runtime);
    // close() waits for this whole start, so that a subscription arriving as the bus closes is
    // stopped before the driver closes, whatever the order in which the two finish
    const opening = this.#start(runtime, pattern, id, resolved);
    this.#trackAttempt(opening.catch(() => undefined));
    return opening;
  }

  async #start(
    runtime: SubscriptionRuntime,
    pattern: string,
    id: string,
    resolved: ResolvedSubscribeOptions,
  ): Promise<SubscriptionRuntime> {
    const { driver, state, status, subscribeTimeoutMs } = this.#bus;
    const { backend } = driver;
    try {
      let attempts = 0;
      const sub = await retryWhileAway(
        (timeLeftMs) => {
          // a fresh id per attempt: a late-arriving earlier attempt, stopped at once, removes only its own broker objects
          const request = {
            id: attempts++ === 0 ? id : `${id}r${attempts}`,
            pattern,
            group: resolved.group,
            from: resolved.from,
            maxInFlight: resolved.maxInFlight,
            ackTimeoutMs: resolved.ackTimeoutMs,
            sink: runtime,
            ...(resolved.atMostOnce ? { atMostOnce: true as const } : {}),
          };
          return subscribeWithin(driver, request, {
            ms: subscribeTimeoutMs > 0 ? timeLeftMs : 0,
            waitMs: subscribeTimeoutMs,
            ended: runtime.closed,
            track: this.#trackAttempt,
          });
        },
        {
          timeoutMs: subscribeTimeoutMs,
          watchOutage: () => status.watchOutage(this.#bus.backendAway),
          wanted: () => state.isOpen && runtime.isOpen,
          ended: runtime.closed,
        },
      );
      // arrived as the subscription closed: stopped at once (bounded wait; close() waits for this start)
      const lateStop = runtime.attach(sub);
      if (lateStop) await settledWithin(lateStop, 1_000);
    } catch (error) {
      const aborted = !runtime.isOpen;
      this.#runtimes.delete(runtime);
      void runtime.close(0);
      if (!state.isOpen) throw new BusClosedError({ backend });
      if (aborted) throw new AbortedError('the subscription was aborted', { backend });
      if (error instanceof OmnibusError) throw error;
      throw new ConnectionError(`subscribe to "${pattern}" failed`, { backend, cause: error });
    }
    if (!state.isOpen) {
      await runtime.close(0);
      throw new BusClosedError({ backend });
    }
    if (!runtime.isOpen) {
      // aborted while subscribing
      throw new AbortedError('the subscription was aborted', { backend });
    }
    return runtime;
  }

  /**
   * Closes every subscription (each with `timeoutMs`, waited for until `left()` ends),
   * then waits for subscribe attempts still under way — briefly when the backend is
   * away, as an attempt may settle only once the driver disconnects.
   */
  async closeAll(timeoutMs: number, left: () => number): Promise<void> {
    // a subscription already closing keeps its own (maybe longer) close: bounded here too
    // (a moment more than the deadline: a subscription closing with it releases what is left just after)
    await Promise.all(
      [...this.#runtimes].map((r) => settledWithin(r.close(timeoutMs), left() + RELEASE_AFTER_DEADLINE_MS)),
    );
    // with the backend away an attempt may settle only once the driver disconnects: wait briefly
    await settledWithin(
      Promise.allSettled([...this.#attemptsUnderWay]),
      this.#bus.status.lost ? Math.min(left(), 1_000) : left(),
    );
  }
}
