import { defineEvent, InvalidArgumentError, observe, TimeoutError } from '@omnibus/core';
import { createMemoryBus, type MemoryBus } from '@omnibus/memory';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createHarness, type Harness } from '../src/index.js';

const OrderPlaced = defineEvent('orders.placed', z.object({ orderId: z.string(), total: z.number() }));

/** The service under test: charges each order, publishes billing.charged, refuses totals over 1,000. */
async function startBilling(bus: MemoryBus) {
  return OrderPlaced.consume(
    bus,
    async (order) => {
      if (order.total > 1_000) throw new Error(`total ${order.total} over the limit`);
      await bus.publish('billing.charged', JSON.stringify({ orderId: order.orderId }));
      await bus.publish('audit.billing', `charged ${order.orderId}`);
    },
    { group: 'billing', maxAttempts: 3, backoff: 5 },
  );
}

let bus: MemoryBus;
let harness: Harness;
beforeEach(() => {
  bus = createMemoryBus();
  harness = createHarness(bus, { timeoutMs: 500 });
});
afterEach(async () => {
  harness.stop();
  await bus.close();
});

describe('journals', () => {
  it('record every publish, every delivery with its outcome, and every dead letter', async () => {
    await startBilling(bus);
    await OrderPlaced.publish(bus, { orderId: 'o-1', total: 10 });
    await OrderPlaced.publish(bus, { orderId: 'o-2', total: 5_000 });
    await harness.idle({ includeScheduled: true });

    const { published, consumed, deadLettered } = harness.journal;
    expect(published.map((e) => e.subject).sort()).toEqual([
      'audit.billing',
      'billing.charged',
      'orders.placed',
      'orders.placed',
    ]);
    const bySubject = (subject: string) => published.find((e) => e.subject === subject);
    expect(bySubject('billing.charged')?.payload).toEqual({ orderId: 'o-1' }); // JSON decoded
    expect(bySubject('audit.billing')?.payload).toBe('charged o-1'); // text
    expect(bySubject('orders.placed')?.receipt.duplicate).toBe(false);

    const o2 = consumed.filter((e) => (e.payload as { orderId: string }).orderId === 'o-2');
    expect(o2.map((e) => [e.attempt, e.outcome])).toEqual([
      [1, 'retried'],
      [2, 'retried'],
      [3, 'dead-lettered'],
    ]);
    expect(String(o2[0]?.error)).toContain('over the limit');
    expect(o2[0]?.group).toBe('billing');

    expect(deadLettered).toHaveLength(1);
    expect(deadLettered[0]).toMatchObject({
      subject: 'orders.placed',
      attempt: 3,
      reason: 'failed after 3 attempts',
      deadLetterSubject: 'dlq.orders.placed',
      payload: { orderId: 'o-2', total: 5_000 },
    });
  });

  it('decode bytes that are not UTF-8 as bytes, and keep the exact payload in bytes', async () => {
    await bus.publish('raw.x', new Uint8Array([0xff, 0x00, 0x41]));
    const entry = await harness.published('raw.x');
    expect(entry.payload).toEqual(new Uint8Array([0xff, 0x00, 0x41]));
    expect(entry.bytes).toEqual(new Uint8Array([0xff, 0x00, 0x41]));
  });

  it('clear() forgets what was recorded; stop() stops recording', async () => {
    await bus.publish('a.b', 'x');
    harness.clear();
    expect(harness.journal.published).toEqual([]);
    await bus.publish('a.b', 'y');
    harness.stop();
    await bus.publish('a.b', 'z');
    expect(harness.journal.published.map((e) => e.payload)).toEqual(['y']);
  });

  it('a journal snapshot does not change afterwards', async () => {
    const before = harness.journal;
    await bus.publish('a.b', 'x');
    expect(before.published).toEqual([]);
    expect(harness.journal.published).toHaveLength(1);
  });
});

describe('waiting queries', () => {
  it('resolve at once with what was already published, or as soon as it is', async () => {
    await bus.publish('orders.eu.created', JSON.stringify({ orderId: 'o-1' }));
    expect((await harness.published('orders.*.created')).payload).toEqual({ orderId: 'o-1' });
    const later = harness.published('orders.*.created', { where: { orderId: 'o-2' } });
    setTimeout(() => void bus.publish('orders.us.created', JSON.stringify({ orderId: 'o-2' })), 20);
    expect((await later).subject).toBe('orders.us.created');
  });

  it('filter with a partial payload (nested, RegExp) or a predicate', async () => {
    await bus.publish('x.y', JSON.stringify({ order: { id: 'o-7', lines: [1, 2] }, note: 'rush order' }));
    await expect(harness.published('x.y', { where: { order: { id: 'o-7' } } })).resolves.toBeDefined();
    await expect(harness.published('x.y', { where: { note: /rush/ } })).resolves.toBeDefined();
    await expect(harness.published('x.y', { where: { order: { lines: [1, 2] } } })).resolves.toBeDefined();
    await expect(
      harness.published<string, { note: string }>('x.y', { where: (p) => p.note.startsWith('rush') }),
    ).resolves.toBeDefined();
  });

  it('reject after the timeout, listing what was published instead, closest first', async () => {
    await bus.publish('orders.eu.created', JSON.stringify({ orderId: 'o-1' }));
    await bus.publish('billing.charged', JSON.stringify({ orderId: 'o-2' }));
    const error = await harness
      .published('orders.*.created', { where: { orderId: 'o-2' }, timeoutMs: 50 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    const message = (error as Error).message;
    expect(message).toContain('nothing published on "orders.*.created" where {"orderId":"o-2"} within 50 ms');
    expect(message).toMatch(
      /orders\.eu\.created \{"orderId":"o-1"\} — orderId: expected "o-2", got "o-1"\n.*billing\.charged.*subject does not match/,
    );
    expect((error as TimeoutError).hint).toContain('where filter');
  });

  it('a timeout says why in its message (test runners print the message, not error.hint)', async () => {
    await bus.publish('orders.eu.created', 'x');
    const error = (await harness.published('billing.>', { timeoutMs: 20 }).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/\nhint: nothing on that subject: check the subject/);
  });

  it('a wait that times out while redeliveries are scheduled says so, and how to wait for them', async () => {
    await bus.consume(
      'later.x',
      () => {
        throw new Error('not yet');
      },
      { backoff: 60_000 },
    );
    await bus.publish('later.x', 'x');
    const error = (await harness
      .deadLettered('later.x', { timeoutMs: 30 })
      .catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(
      /\nhint: 1 redelivery\(ies\) are scheduled later \(backoff\): wait for them with await harness.idle\(\{ includeScheduled: true \}\) \(under fake timers, pass advanceTimers to createHarness\)/,
    );
  });

  it('consumed() can ask for an outcome; deadLettered() finds the dead letter by its original subject', async () => {
    await startBilling(bus);
    await OrderPlaced.publish(bus, { orderId: 'o-9', total: 9_999 });
    const retried = await harness.consumed(OrderPlaced, { outcome: 'retried' });
    expect(retried.attempt).toBe(1);
    const dead = await harness.deadLettered(OrderPlaced, { where: { orderId: 'o-9' } });
    expect(dead.attempt).toBe(3);
    await expect(harness.consumed(OrderPlaced, { outcome: 'acked', timeoutMs: 30 })).rejects.toThrow(
      /nothing consumed on "orders.placed" with outcome acked within 30 ms.*\n.*attempt 3, dead-lettered/,
    );
  });

  it('are typed through defineEvent', async () => {
    await OrderPlaced.publish(bus, { orderId: 'o-1', total: 3 });
    const entry = await harness.published(OrderPlaced, { where: { total: 3 } });
    expectTypeOf(entry.payload).toEqualTypeOf<{ orderId: string; total: number }>();
    expect(entry.payload.orderId).toBe('o-1');
  });

  it('refuse what is not a subject, pattern or event, with nothing recorded half-way', async () => {
    expect(() => harness.published('orders..x')).toThrow(InvalidArgumentError);
    expect(() => harness.published(42 as unknown as string)).toThrow(/not a subject, pattern or typed event/);
    expect(() => harness.deadLettered({} as unknown as string)).toThrow(InvalidArgumentError);
  });
});

describe('idle()', () => {
  it('resolves once the handlers, what they published and their retries have settled', async () => {
    const seen: string[] = [];
    await bus.consume('billing.charged', async (m) => {
      await new Promise((r) => setTimeout(r, 5));
      seen.push(m.json<{ orderId: string }>().orderId);
    });
    await startBilling(bus);
    for (let i = 0; i < 20; i++) await OrderPlaced.publish(bus, { orderId: `o-${i}`, total: i });
    await harness.idle();
    expect(seen).toHaveLength(20);
    expect(harness.journal.consumed.filter((e) => e.subject === 'billing.charged')).toHaveLength(20);
  });

  it('does not wait for a retry scheduled later, unless asked to', async () => {
    await bus.consume(
      'slow.retry',
      () => {
        throw new Error('not yet');
      },
      { backoff: 60_000, maxAttempts: 2 },
    );
    await bus.publish('slow.retry', 'x');
    await harness.idle();
    expect(harness.journal.consumed.map((e) => e.outcome)).toEqual(['retried']);
    const error = await harness.idle({ includeScheduled: true, timeoutMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toContain('1 redelivery(ies) scheduled');
  });

  it('times out naming what is held: a manual-ack message nobody settles', async () => {
    const sub = await bus.subscribe('held.>', { ack: 'manual' });
    await bus.publish('held.one', 'x');
    const iterator = sub[Symbol.asyncIterator]();
    const first = await iterator.next();
    const error = await harness.idle({ timeoutMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(
      /did not become idle within 50 ms: 1 message\(s\) handed out and not settled/,
    );
    await first.value.ack();
    await harness.idle();
    expect(harness.journal.consumed.map((e) => e.outcome)).toEqual(['acked']);
    await sub.close();
  });

  it('keeps its deadline while events keep coming (code that never stops publishing)', async () => {
    let stop = false;
    await bus.consume('ping.x', () => {
      if (!stop) setTimeout(() => void bus.publish('ping.x', 'again').catch(() => {}), 0);
    });
    await bus.publish('ping.x', 'first');
    const error = await harness.idle({ timeoutMs: 100 }).catch((e: unknown) => e);
    stop = true;
    expect(error).toBeInstanceOf(TimeoutError);
  });

  it('ignores the backlog of a group that has no members', async () => {
    const consumer = await bus.consume('backlog.x', () => {}, { group: 'g' });
    await consumer.close();
    await bus.publish('backlog.x', 'waits for a member');
    await harness.idle();
  });
});

describe('observe()', () => {
  it('a throwing listener is counted in errors and never reaches the publisher', async () => {
    const stop = observe(bus, () => {
      throw new Error('listener bug');
    });
    await expect(bus.publish('a.b', 'x')).resolves.toBeDefined();
    expect(bus.stats().errors).toBe(1);
    stop();
    await bus.publish('a.b', 'y');
    expect(bus.stats().errors).toBe(1);
  });

  it('reports a publish the backend refused, with the error the caller got', async () => {
    const small = createMemoryBus({ overflow: 'block', maxBuffered: 1, blockTimeoutMs: 10 });
    const failures: { subject: string; error: unknown }[] = [];
    observe(small, (e) => {
      if (e.type === 'publish-failed') failures.push({ subject: e.subject, error: e.error });
    });
    await small.subscribe('full.>', { ack: 'manual', maxInFlight: 1 }); // never read
    await small.publish('full.a', '1');
    await small.publish('full.a', '2');
    const error = await small.publish('full.a', '3').catch((e: unknown) => e);
    expect(failures).toEqual([{ subject: 'full.a', error }]);
    // refused before anything was sent: a bad call, not a failed publish
    await expect(small.publish('full.a', new Uint8Array(2_000_000))).rejects.toThrow();
    expect(failures).toHaveLength(1);
    await small.close({ timeoutMs: 100 });
  });

  it('refuses a per-call wait that is no number or longer than a timer holds', async () => {
    const harness = createHarness(bus);
    for (const timeoutMs of [Number.POSITIVE_INFINITY, 2 ** 31, Number.NaN, -5]) {
      expect(() => harness.published('orders.x', { timeoutMs })).toThrow(InvalidArgumentError);
      await expect(harness.idle({ timeoutMs })).rejects.toThrow(InvalidArgumentError);
    }
  });

  it('refuses what is not a bus built by createBus, and options that make no sense', () => {
    expect(() => createHarness({} as MemoryBus)).toThrow(InvalidArgumentError);
    expect(() => createHarness(bus, { timeoutMs: -1 })).toThrow(/timeoutMs must be a number/);
    // longer than a timer holds: it would fire after 1 ms
    expect(() => createHarness(bus, { timeoutMs: 2 ** 31 })).toThrow(/timeoutMs must be a number/);
    expect(() => createHarness(bus, { advanceTimers: 5 as unknown as () => void })).toThrow(/advanceTimers/);
  });
});
