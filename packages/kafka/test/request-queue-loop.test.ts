// kafkajs's request queue schedules no check when nothing waits and no throttle is in force (its
// 1 ms loop at a negative delay, kafkajs #1751/#1704), and still does when a request waits or a
// throttle is on. The queue is kafkajs's own class, driven directly: no broker.
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { stopIdleRequestQueueLoop } from '../src/request-queue-loop.js';

interface Queue {
  pending: unknown[];
  throttleCheckTimeoutId: unknown;
  maybeThrottle(ms: number): void;
  scheduleCheckPendingRequests(): void;
  destroy(): void;
}
const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as new (
  options: object,
) => Queue;

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const queues: Queue[] = [];
const queue = (): Queue => {
  const q = new RequestQueue({ logger: quiet, requestTimeout: 30_000, clientId: 't', broker: 'b' });
  queues.push(q);
  return q;
};
afterEach(() => {
  for (const q of queues.splice(0)) q.destroy();
});

describe('stopIdleRequestQueueLoop', () => {
  stopIdleRequestQueueLoop();

  it('an idle queue schedules nothing (kafkajs scheduled a check at -1 - Date.now() ms)', () => {
    const q = queue();
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();
  });

  it('a queue with a waiting request still schedules its check', () => {
    const q = queue();
    q.pending.push({});
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).not.toBeNull();
    q.pending.length = 0;
  });

  it('a throttled queue still schedules the check for the throttle’s end', () => {
    const q = queue();
    q.maybeThrottle(5_000);
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).not.toBeNull();
  });

  it('fixes kafkajs once, however many buses call it', () => {
    const { prototype } = RequestQueue as unknown as { prototype: Queue };
    const fixed = prototype.scheduleCheckPendingRequests;
    stopIdleRequestQueueLoop();
    expect(prototype.scheduleCheckPendingRequests).toBe(fixed);
  });
});
