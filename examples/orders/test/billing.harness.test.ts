// The order example's services tested with @omnibus/harness on the in-memory bus: no hand-made
// subscriptions, timeouts or counters. The harness journals what was published, consumed and
// dead-lettered; idle() says when the bus has settled.
import '@omnibus/harness/vitest';
import { silentLogger } from '@omnibus/core';
import { createHarness } from '@omnibus/harness';
import { createMemoryBus } from '@omnibus/memory';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_ATTEMPTS, startBillingWorker } from '../src/billing-worker.js';
import { EuOrderCreated, type Order } from '../src/events.js';
import { createOrderService } from '../src/order-service.js';
import { startEuReport } from '../src/watchers.js';

const quiet = () => {};
const order = (orderId: string, total: number, region: Order['region'] = 'eu'): Order => ({
  orderId,
  region,
  total,
  items: 1,
});

afterEach(() => {
  vi.useRealTimers();
});

describe('billing', () => {
  it('charges an order on its first attempt', async () => {
    const bus = createMemoryBus({ logger: silentLogger });
    const harness = createHarness(bus);
    await startBillingWorker(bus, 'worker-a', quiet, quiet, new Set());
    await createOrderService(bus, quiet).place(order('order-1', 20));
    await harness.idle();
    expect(harness).toHaveConsumed('orders.*.created', { orderId: 'order-1' }, { outcome: 'acked' });
    expect(harness).not.toHaveDeadLettered('orders.>');
    await bus.close();
  });

  it('retries a flaky payment once, then charges it', async () => {
    const bus = createMemoryBus({ logger: silentLogger });
    const harness = createHarness(bus);
    await startBillingWorker(bus, 'worker-a', quiet, quiet, new Set());
    await createOrderService(bus, quiet).place(order('order-3', 20)); // every third order times out once
    await harness.idle({ includeScheduled: true });
    const deliveries = harness.journal.consumed.map((e) => [e.attempt, e.outcome]);
    expect(deliveries).toEqual([
      [1, 'retried'],
      [2, 'acked'],
    ]);
    expect(String(harness.journal.consumed[0]?.error)).toContain('payment provider timeout for order-3');
    await bus.close();
  });

  it(`dead-letters an order over the limit after ${MAX_ATTEMPTS} attempts — on fake timers, without waiting for the backoff`, async () => {
    vi.useFakeTimers();
    const bus = createMemoryBus({ logger: silentLogger });
    const harness = createHarness(bus, { advanceTimers: (ms) => vi.advanceTimersByTimeAsync(ms) });
    await startBillingWorker(bus, 'worker-a', quiet, quiet, new Set());
    await createOrderService(bus, quiet).place(order('order-7', 5_000, 'us'));
    await harness.idle({ includeScheduled: true });
    const dead = await harness.deadLettered('orders.*.created', { where: { orderId: 'order-7' } });
    expect(dead).toMatchObject({
      attempt: MAX_ATTEMPTS,
      deadLetterSubject: 'dlq.orders.us.created',
      group: 'billing',
    });
    expect(String(dead.error)).toContain('total over limit');
    await bus.close();
  });

  it('a duplicate publish of the same order is not charged twice', async () => {
    const bus = createMemoryBus({ logger: silentLogger });
    const harness = createHarness(bus);
    await startBillingWorker(bus, 'worker-a', quiet, quiet, new Set());
    const service = createOrderService(bus, quiet);
    await service.place(order('order-1', 20));
    await service.place(order('order-1', 20));
    await harness.idle();
    expect(harness.journal.published.map((e) => e.receipt.duplicate)).toEqual([false, true]);
    expect(harness.journal.consumed).toHaveLength(1);
    await bus.close();
  });
});

describe('the typed EU report', () => {
  it('reports EU orders with their validated payload', async () => {
    const bus = createMemoryBus({ logger: silentLogger });
    const harness = createHarness(bus);
    const lines: string[] = [];
    await startEuReport(bus, (_who, _what, orderId, details) => lines.push(`${orderId} ${details}`));
    await EuOrderCreated.publish(bus, order('order-2', 42.5));
    const consumed = await harness.consumed(EuOrderCreated, { where: { orderId: 'order-2' } });
    expect(consumed.payload.total).toBe(42.5); // typed: { orderId, region, total, items }
    expect(lines).toEqual(['order-2 1 item(s), 42.50']);
    await bus.close();
  });

  it('dead-letters a payload that fails validation without calling the report', async () => {
    const bus = createMemoryBus({ logger: silentLogger });
    const harness = createHarness(bus);
    const lines: string[] = [];
    await startEuReport(bus, (_who, _what, orderId) => lines.push(orderId));
    await bus.publish('orders.eu.created', JSON.stringify({ orderId: 'order-9', total: -1 }));
    const dead = await harness.deadLettered(EuOrderCreated);
    expect(dead.reason).toMatch(/^validation failed: /);
    expect(lines).toEqual([]);
    await bus.close();
  });
});
