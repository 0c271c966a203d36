import '../src/vitest.js';
import { defineEvent, silentLogger } from '@omnibus/core';
import { createMemoryBus } from '@omnibus/memory';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createHarness } from '../src/index.js';

const OrderPlaced = defineEvent('orders.placed', z.object({ orderId: z.string() }));
let bus: ReturnType<typeof createMemoryBus>;
beforeEach(() => {
  bus = createMemoryBus({ logger: silentLogger });
});
afterEach(() => bus.close());

describe('matchers (vitest)', () => {
  it('toHavePublished passes on a match and fails listing the closest candidates', async () => {
    const harness = createHarness(bus);
    await OrderPlaced.publish(bus, { orderId: 'o-1' });
    expect(harness).toHavePublished(OrderPlaced, { orderId: 'o-1' });
    expect(harness).toHavePublished('orders.>');
    expect(harness).not.toHavePublished(OrderPlaced, { orderId: 'o-2' });
    expect(() => expect(harness).toHavePublished(OrderPlaced, { orderId: 'o-2' })).toThrow(
      /expected the harness to have published "orders.placed" where \{"orderId":"o-2"\}; published \(1, closest first\):\n {2}orders.placed \{"orderId":"o-1"\} — orderId: expected "o-2", got "o-1"/,
    );
    expect(() => expect(harness).not.toHavePublished(OrderPlaced)).toThrow(
      /expected the harness not to have published "orders.placed", but it did \(1\)/,
    );
  });

  it('toHaveConsumed with an outcome, and toHaveDeadLettered', async () => {
    const harness = createHarness(bus);
    await OrderPlaced.consume(
      bus,
      (order) => {
        if (order.orderId === 'bad') throw new Error('refused');
      },
      { maxAttempts: 2, backoff: 0 },
    );
    await OrderPlaced.publish(bus, { orderId: 'good' });
    await OrderPlaced.publish(bus, { orderId: 'bad' });
    await harness.idle();
    expect(harness).toHaveConsumed(OrderPlaced, { orderId: 'good' }, { outcome: 'acked' });
    expect(harness).toHaveConsumed(OrderPlaced, { orderId: 'bad' }, { outcome: 'retried' });
    expect(harness).not.toHaveConsumed(OrderPlaced, { orderId: 'bad' }, { outcome: 'acked' });
    expect(harness).toHaveDeadLettered(OrderPlaced, (p, entry) => p.orderId === 'bad' && entry.attempt === 2);
    expect(() => expect(harness).toHaveDeadLettered(OrderPlaced, { orderId: 'good' })).toThrow(
      /dead-lettered \(1, closest first\):\n {2}orders.placed \{"orderId":"bad"\} \(attempt 2: failed after 2 attempts\) — orderId: expected "good", got "bad"/,
    );
  });

  it('a failed matcher says when the bus had not settled (a matcher does not wait), and nothing when it had', async () => {
    const harness = createHarness(bus);
    await bus.consume(
      'slow.x',
      () => {
        throw new Error('retry me');
      },
      { backoff: 60_000 },
    );
    await bus.publish('slow.x', 'x');
    expect(() => expect(harness).toHaveDeadLettered('slow.x')).toThrow(
      /\(1 redelivery\(ies\) are scheduled later \(backoff\): wait for them with await harness.idle\(\{ includeScheduled: true \}\)/,
    );
    const idle = createHarness(createMemoryBus({ logger: silentLogger }));
    let message = '';
    try {
      expect(idle).toHavePublished('a.b');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('published (0, closest first)');
    expect(message).not.toContain('await harness.idle');
  });

  it('an invalid pattern, or a predicate that throws for every message, fails the matcher — with .not too', async () => {
    const harness = createHarness(bus);
    await bus.publish('orders.eu.created', '{"order":{"id":1}}');
    for (const bad of ['orders.', 'orders..created', '', 'orders eu'])
      expect(() => expect(harness).not.toHavePublished(bad)).toThrow(/not a subject, pattern or typed event/);
    const typo = (p: unknown) => (p as { orders: { id: number } }).orders.id === 2;
    expect(() => expect(harness).not.toHavePublished('orders.>', typo)).toThrow(
      /the where predicate threw for every message on orders.> \(1\)/,
    );
    // a predicate that throws for some messages only is still a filter
    await bus.publish('orders.eu.created', '{"other":true}');
    expect(harness).toHavePublished('orders.>', (p) => (p as { order: { id: number } }).order.id === 1);
  });

  it('fails clearly on something that is not a harness', () => {
    expect(() => expect({}).toHavePublished('a.b')).toThrow(/toHavePublished expects a harness/);
  });
});
