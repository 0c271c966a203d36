import { createRequire } from 'node:module';

/** Marks kafkajs's request queue as already fixed (one kafkajs copy may serve several buses). */
const FIXED = Symbol.for('omnibus.kafka.requestQueueLoop');

/** The fields of kafkajs's `RequestQueue` the fix reads. */
interface RequestQueueState {
  pending?: unknown;
  throttledUntil?: unknown;
}

type Schedule = (this: RequestQueueState) => unknown;

/**
 * Stops kafkajs's idle request-queue loop, which on Node 24 prints
 * `TimeoutNegativeWarning: … is a negative number` on every run.
 *
 * kafkajs 2.2.4 (its issues #1751 and #1704, open; fix proposed in PR #1768) schedules, after
 * every broker response, a check of the requests waiting for a throttle to end, at
 * `throttledUntil - Date.now()`: when no throttle was ever set that is `-1 - Date.now()`.
 * Node runs it after 1 ms, and the check schedules the next one the same way: a 1 ms timer
 * loop per open connection (about a thousand timers a second in a short session, measured)
 * that checks an empty queue, and on Node ≥ 24 the warning. No option avoids that path.
 *
 * This wraps `RequestQueue.prototype.scheduleCheckPendingRequests` of the kafkajs copy this
 * package resolves (once per process): when no request waits and no throttle is in force it
 * schedules nothing — the check would find nothing to send, and a request that must wait
 * schedules its own check when it is queued. Otherwise kafkajs's code runs unchanged. No
 * warning is filtered. A kafkajs whose request queue is not where 2.x has it is left alone,
 * and so is another kafkajs copy a `kafka` instance passed in may come from.
 */
export function stopIdleRequestQueueLoop(): void {
  let RequestQueue: { prototype?: Record<PropertyKey, unknown> } | undefined;
  try {
    RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js');
  } catch {
    return;
  }
  const proto = RequestQueue?.prototype;
  const schedule = proto?.scheduleCheckPendingRequests;
  if (!proto || typeof schedule !== 'function' || proto[FIXED]) return;
  proto.scheduleCheckPendingRequests = function (this: RequestQueueState) {
    const { pending, throttledUntil } = this;
    const idle = Array.isArray(pending) && pending.length === 0;
    if (idle && typeof throttledUntil === 'number' && throttledUntil <= Date.now()) return;
    return (schedule as Schedule).call(this);
  };
  proto[FIXED] = true;
}
