// The harness under jest (ESM, node --experimental-vm-modules): queries, idle(), the matchers from
// @omnibus/harness/jest, and a retry/backoff/dead-letter history under jest's modern fake timers.
import '../dist/jest.js';
import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { silentLogger } from '@omnibus/core';
import { createMemoryBus } from '@omnibus/memory';
import { createHarness } from '../dist/index.js';

afterEach(() => {
  jest.useRealTimers();
});

describe('@omnibus/harness under jest', () => {
  test('a handler that publishes two events and dead-letters one', async () => {
    const bus = createMemoryBus({ logger: silentLogger });
    const harness = createHarness(bus);
    await bus.consume(
      'orders.*.created',
      async (m) => {
        const { orderId } = m.json();
        if (orderId === 'bad') throw new Error('refused');
        await bus.publish('billing.charged', JSON.stringify({ orderId }));
      },
      { maxAttempts: 2, backoff: 0 },
    );
    await bus.publish('orders.eu.created', JSON.stringify({ orderId: 'o-1' }));
    await bus.publish('orders.us.created', JSON.stringify({ orderId: 'o-2' }));
    await bus.publish('orders.us.created', JSON.stringify({ orderId: 'bad' }));
    await harness.idle();
    expect(harness).toHavePublished('billing.charged', { orderId: 'o-1' });
    expect(harness).toHavePublished('billing.charged', { orderId: 'o-2' });
    expect(harness).toHaveConsumed('orders.*.created', { orderId: 'bad' }, { outcome: 'retried' });
    expect(harness).toHaveDeadLettered('orders.*.created', { orderId: 'bad' });
    expect(harness).not.toHaveDeadLettered('orders.*.created', { orderId: 'o-1' });
    expect(() => expect(harness).toHavePublished('billing.charged', { orderId: 'o-3' })).toThrow(
      /published \(5, closest first\):\n {2}billing.charged \{"orderId":"o-\d"\} — orderId: expected "o-3", got "o-\d"/,
    );
    await bus.close();
  });

  test('a waiting query rejects with what was published instead', async () => {
    const bus = createMemoryBus({ logger: silentLogger });
    const harness = createHarness(bus, { timeoutMs: 30 });
    await bus.publish('orders.eu.created', 'x');
    await expect(harness.published('billing.>')).rejects.toThrow(
      /nothing published on "billing.>" within 30 ms; published instead \(1, closest first\):\n {2}orders.eu.created "x" — subject does not match/,
    );
    await bus.close();
  });

  test('retried 3 times with backoff, then dead-lettered: jest fake timers', async () => {
    jest.useFakeTimers();
    const bus = createMemoryBus({ logger: silentLogger });
    const harness = createHarness(bus, { advanceTimers: (ms) => jest.advanceTimersByTimeAsync(ms) });
    const started = Date.now();
    await bus.consume(
      'payments.charge',
      () => {
        throw new Error('card declined');
      },
      { maxAttempts: 4, backoff: [10_000, 60_000, 300_000] },
    );
    await bus.publish('payments.charge', JSON.stringify({ orderId: 'o-1' }));
    await harness.idle({ includeScheduled: true });
    expect(harness.journal.consumed.map((e) => [e.attempt, e.outcome])).toEqual([
      [1, 'retried'],
      [2, 'retried'],
      [3, 'retried'],
      [4, 'dead-lettered'],
    ]);
    expect(harness).toHaveDeadLettered('payments.charge', { orderId: 'o-1' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(370_000); // the fake clock moved
    await bus.close();
  });

  test('a delayed nak under jest fake timers comes back when the clock is advanced', async () => {
    jest.useFakeTimers();
    const bus = createMemoryBus({ logger: silentLogger });
    const harness = createHarness(bus);
    const attempts = [];
    await bus.consume(
      'later.x',
      async (m) => {
        attempts.push(m.attempt);
        if (m.attempt === 1) await m.nak({ delayMs: 30_000 });
        else await m.ack();
      },
      { ack: 'manual' },
    );
    await bus.publish('later.x', 'x');
    await harness.idle();
    expect(attempts).toEqual([1]);
    await jest.advanceTimersByTimeAsync(30_000);
    await harness.idle();
    expect(attempts).toEqual([1, 2]);
    await bus.close({ timeoutMs: 10 });
  });
});
