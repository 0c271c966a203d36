import { silentLogger } from '@omnibus/core';
import { createMemoryBus } from '@omnibus/memory';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHarness } from '../src/index.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('under vitest fake timers', () => {
  it('"retried 3 times with backoff, then dead-lettered" runs without waiting for the backoff', async () => {
    const bus = createMemoryBus({ logger: silentLogger });
    const harness = createHarness(bus, { advanceTimers: (ms) => vi.advanceTimersByTimeAsync(ms) });
    const started = Date.now(); // the fake clock
    await bus.consume(
      'payments.charge',
      () => {
        throw new Error('card declined');
      },
      { maxAttempts: 4, backoff: [10_000, 60_000, 300_000] },
    );
    await bus.publish('payments.charge', JSON.stringify({ orderId: 'o-1' }));
    await harness.idle({ includeScheduled: true });
    const dead = await harness.deadLettered('payments.charge');
    expect(dead.attempt).toBe(4);
    expect(harness.journal.consumed.map((e) => [e.attempt, e.outcome])).toEqual([
      [1, 'retried'],
      [2, 'retried'],
      [3, 'retried'],
      [4, 'dead-lettered'],
    ]);
    // the fake clock moved through every backoff: 10 s + 60 s + 300 s
    expect(Date.now() - started).toBeGreaterThanOrEqual(370_000);
    await bus.close();
  });

  it('a delayed nak comes back when the test advances the clock itself', async () => {
    const bus = createMemoryBus({ logger: silentLogger });
    const harness = createHarness(bus);
    const attempts: number[] = [];
    const sub = await bus.subscribe('later.x', { ack: 'manual' });
    void (async () => {
      for await (const m of sub) {
        attempts.push(m.attempt);
        if (m.attempt === 1) await m.nak({ delayMs: 30_000 });
        else await m.ack();
      }
    })();
    await bus.publish('later.x', 'x');
    await harness.idle(); // the redelivery is not due: idle without it
    expect(attempts).toEqual([1]);
    await vi.advanceTimersByTimeAsync(30_000);
    await harness.idle();
    expect(attempts).toEqual([1, 2]);
    await bus.close();
  });

  it('a due redelivery without advanceTimers: idle() says how to move the fake clock', async () => {
    const bus = createMemoryBus({ logger: silentLogger });
    const harness = createHarness(bus, { timeoutMs: 50 });
    await bus.consume(
      'now.x',
      () => {
        throw new Error('again');
      },
      { backoff: 0, maxAttempts: 2 },
    );
    await bus.publish('now.x', 'x');
    const error = await harness.idle().catch((e: unknown) => e);
    expect(String(error)).toContain('1 redelivery(ies) due');
    expect((error as { hint?: string }).hint).toContain('advanceTimers');
    await vi.advanceTimersByTimeAsync(0);
    await harness.idle();
    expect(harness.journal.deadLettered).toHaveLength(1);
    await bus.close();
  });

  it('an ack timeout fires on the fake clock: a handler that never returns is redelivered', async () => {
    const bus = createMemoryBus({ logger: silentLogger });
    const harness = createHarness(bus, { advanceTimers: (ms) => vi.advanceTimersByTimeAsync(ms) });
    await bus.consume('hang.x', (m) => (m.attempt === 1 ? new Promise(() => {}) : undefined), {
      ackTimeoutMs: 5_000,
    });
    await bus.publish('hang.x', 'x');
    await vi.advanceTimersByTimeAsync(5_000);
    await harness.idle();
    expect(harness.journal.consumed.map((e) => [e.attempt, e.outcome])).toEqual([
      [1, 'retried'],
      [2, 'acked'],
    ]);
    expect(String(harness.journal.consumed[0]?.error)).toContain('ackTimeoutMs');
    // close waits (bounded) for the handler that never returns: on the real clock
    vi.useRealTimers();
    await bus.close({ timeoutMs: 10 });
  });
});
