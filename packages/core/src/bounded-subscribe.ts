import type { BusDriver, DeliverySink, DriverSubscribeRequest, DriverSubscription } from './driver.js';
import { ConnectionError } from './errors.js';

/** How `subscribeWithin` bounds one attempt. */
export interface SubscribeBounds {
  /** Longest the attempt may take (ms); 0: no bound. */
  readonly ms: number;
  /** The whole wait this attempt ends, for the error message (ms). */
  readonly waitMs: number;
  /** Settles when nobody waits any more (the subscription aborted or closed, the bus closing). */
  readonly ended: Promise<unknown>;
  /**
   * Receives a promise that settles once the attempt is over: arrived (and, if
   * given up on, stopped) or failed — so that `close()` can wait for it.
   */
  track(cleanUp: Promise<unknown>): void;
}

/** Marks an attempt given up on because nobody waits for it any more. */
export class AttemptEnded extends Error {}

/**
 * `driver.subscribe(request)`, given up after `bounds.ms` with a
 * `ConnectionError` (a client that queues its commands until the reconnect
 * would otherwise wait forever), or with `AttemptEnded` as soon as
 * `bounds.ended` settles. A subscription that still arrives after that is
 * stopped at once, so nothing is left half-done; while given up, it sees no
 * capacity and cannot take the (single) capacity listener from the attempt that
 * replaces it.
 */
export async function subscribeWithin(
  driver: BusDriver,
  request: DriverSubscribeRequest,
  bounds: SubscribeBounds,
): Promise<DriverSubscription> {
  let abandoned = false;
  const live = request.sink;
  const sink: DeliverySink = {
    get capacity() {
      return abandoned ? 0 : live.capacity;
    },
    push: (delivery) => live.push(delivery),
    onCapacity: (listener) => {
      if (!abandoned) live.onCapacity(listener);
    },
    reportError: (error) => live.reportError(error),
  };
  const subscribing = driver.subscribe(bounds.ms > 0 ? { ...request, sink } : request);
  // tracked from the start, so that a close() that ends this attempt waits for its clean-up:
  // once it is decided whether the attempt was given up on, one given up on is stopped on arrival
  let decide!: () => void;
  const decided = new Promise<void>((resolve) => {
    decide = resolve;
  });
  bounds.track(
    subscribing.then(
      async (subscription) => {
        await decided;
        if (abandoned) await subscription.stop().catch(() => undefined);
      },
      () => undefined,
    ),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const TIMED_OUT = 1;
  const ENDED = 2;
  const outcomes: Promise<DriverSubscription | 1 | 2>[] = [
    subscribing,
    bounds.ended.then(
      () => ENDED,
      () => ENDED,
    ),
  ];
  if (bounds.ms > 0) {
    outcomes.push(
      new Promise<1>((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), bounds.ms);
      }),
    );
  }
  let outcome: DriverSubscription | 1 | 2 | undefined;
  try {
    outcome = await Promise.race(outcomes);
  } finally {
    clearTimeout(timer);
    abandoned = typeof outcome !== 'object'; // given up on, or failed
    decide();
  }
  if (typeof outcome === 'object') return outcome;
  if (outcome === ENDED) throw new AttemptEnded('the subscription ended while it was starting');
  throw new ConnectionError(
    `subscribe to "${request.pattern}" failed: the broker did not answer within ${bounds.waitMs} ms`,
    {
      backend: driver.backend,
      hint: 'the broker is down, unreachable or overloaded (bus.health() tells); subscribe again once it answers',
    },
  );
}
