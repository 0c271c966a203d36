import { ConfigError, type EventBus } from '@omnibus/core';
import { waitFor } from '../reader.js';
import type { Expect } from '../runner.js';
import type { Register } from './context.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The field a `ConfigError` names, or the error itself when it is something else. */
async function refusedField(attempt: Promise<unknown>): Promise<unknown> {
  try {
    await attempt;
  } catch (error) {
    return error instanceof ConfigError ? error.field : error;
  }
  return 'accepted';
}

/** Every published message reaches `bus`'s at-most-once subscriptions at once (both are live). */
async function publishAll(bus: EventBus, subject: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++)
    ids.push((await bus.publish(subject, String(i), { delivery: 'at-most-once' })).id);
  return ids;
}

/**
 * Asking for a delivery level: at most once only where the backend has the fast path, and then
 * without what only at-least-once offers — refused with a ConfigError naming the option, before
 * anything is sent or subscribed. Runs on every backend.
 */
export function deliveryLevelOptionTests(test: Register, expect: Expect): void {
  test('at-most-once is refused with ConfigError (field delivery) where the backend has no fast path', async (ctx) => {
    const s = ctx.subject('level');
    if (ctx.capabilities.atMostOnce) {
      expect(await refusedField(ctx.bus.publish(s, 'x', { delivery: 'at-most-once' }))).toBe('accepted');
      return;
    }
    expect(await refusedField(ctx.bus.subscribe(s, { delivery: 'at-most-once' }))).toBe('delivery');
    expect(await refusedField(ctx.bus.publish(s, 'x', { delivery: 'at-most-once' }))).toBe('delivery');
    expect(ctx.bus.stats().published).toBe(0);
  });

  test('a bad delivery level is refused with ConfigError; at-least-once is the default', async (ctx) => {
    const s = ctx.subject('bad');
    const bad = 'exactly-once' as unknown as 'at-most-once';
    expect(await refusedField(ctx.bus.subscribe(s, { delivery: bad }))).toBe('delivery');
    expect(await refusedField(ctx.bus.publish(s, 'x', { delivery: bad }))).toBe('delivery');
    // null is not "left out": refused too, never taken for the default
    const none = null as unknown as 'at-most-once';
    expect(await refusedField(ctx.bus.subscribe(s, { delivery: none }))).toBe('delivery');
    expect(await refusedField(ctx.bus.publish(s, 'x', { delivery: none }))).toBe('delivery');
    const r = await ctx.read(s, { delivery: 'at-least-once' });
    await ctx.bus.publish(s, 'kept', { delivery: 'at-least-once' });
    expect((await r.next()).text()).toBe('kept');
  });

  test('at most once, what only at-least-once offers is refused with ConfigError naming it', async (ctx) => {
    if (!ctx.capabilities.atMostOnce) return; // the test above holds there
    const s = ctx.subject('refused');
    const level = { delivery: 'at-most-once' } as const;
    expect(await refusedField(ctx.bus.subscribe(s, { ...level, ack: 'manual' }))).toBe('ack');
    expect(await refusedField(ctx.bus.subscribe(s, { ...level, maxAttempts: 3 }))).toBe('maxAttempts');
    expect(await refusedField(ctx.bus.subscribe(s, { ...level, backoff: 100 }))).toBe('backoff');
    expect(await refusedField(ctx.bus.subscribe(s, { ...level, deadLetter: 'parked' }))).toBe('deadLetter');
    expect(await refusedField(ctx.bus.subscribe(s, { ...level, ackTimeoutMs: 1_000 }))).toBe('ackTimeoutMs');
    expect(await refusedField(ctx.bus.subscribe(s, { ...level, from: 'earliest' }))).toBe('from');
    if (!ctx.capabilities.atMostOnce.groups)
      expect(await refusedField(ctx.bus.subscribe(s, { ...level, group: ctx.group('g') }))).toBe('group');
  });
}

/** At most once: delivered while connected, never redelivered, a lagging subscriber's skips counted. */
export function atMostOnceTests(test: Register, expect: Expect): void {
  const level = { delivery: 'at-most-once' } as const;

  test('delivered to a connected subscriber, in order, at attempt 1; publish resolves with a receipt', async (ctx) => {
    const s = ctx.subject('live');
    const r = await ctx.read(s, level);
    const ids = await publishAll(ctx.bus, s, 20);
    const got = await r.take(20);
    expect(got.map((m) => m.id)).toEqual(ids);
    expect(got.map((m) => m.text())).toEqual(ids.map((_, i) => String(i)));
    expect(got.every((m) => m.attempt === 1 && m.subject === s)).toBe(true);
    expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test('id, headers (non-ASCII too), payload bytes and publish time arrive as published', async (ctx) => {
    const s = ctx.subject('meta');
    const r = await ctx.read(s, level);
    const headers = { 'x-tenant': 'acme', 'x-note': 'grüße, 東京 ✓' };
    const bytes = new Uint8Array([0, 255, 10, 13, 0x7b]);
    const before = Date.now();
    const receipt = await ctx.bus.publish(s, bytes, { ...level, id: 'order-42', headers });
    const m = await r.next();
    expect(receipt.id).toBe('order-42');
    expect(m.id).toBe('order-42');
    expect(m.headers).toEqual(headers);
    expect([...m.payload]).toEqual([...bytes]);
    expect(m.publishedAt.getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(m.publishedAt.getTime()).toBeLessThanOrEqual(Date.now());
  });

  test('what is published while nobody subscribes is not delivered later', async (ctx) => {
    const s = ctx.subject('missed');
    await ctx.bus.publish(s, 'before', level);
    const r = await ctx.read(s, level);
    await ctx.bus.publish(s, 'after', level);
    expect((await r.next()).text()).toBe('after');
    expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test('a handler error is counted and reported, and the message is gone (no redelivery, no dead letter)', async (ctx) => {
    const s = ctx.subject('fails');
    const seen: string[] = [];
    const errors: string[] = [];
    ctx.track(
      await ctx.bus.consume(
        s,
        (m) => {
          seen.push(`${m.text()}@${m.attempt}`);
          if (m.text() === 'bad') throw new Error('boom');
        },
        { ...level, onError: (e) => errors.push((e as Error).message) },
      ),
    );
    const dead = await ctx.read(`dlq.${s}`);
    await ctx.bus.publish(s, 'bad', level);
    await ctx.bus.publish(s, 'good', level);
    await waitFor(() => seen.length >= 2, 'both handled', ctx.timeoutMs);
    await sleep(ctx.quietMs);
    expect(seen).toEqual(['bad@1', 'good@1']);
    expect(errors).toEqual(['boom']);
    expect(await dead.nothingWithin(50)).toBeUndefined();
    const stats = ctx.bus.stats();
    expect([stats.redelivered, stats.nakked, stats.deadLettered]).toEqual([0, 0, 0]);
    expect(stats.errors).toBeGreaterThanOrEqual(1);
  });

  test('a subscriber that falls behind skips the oldest beyond maxInFlight, counted in stats().dropped', async (ctx) => {
    const s = ctx.subject('lagging');
    const sub = ctx.track(await ctx.bus.subscribe(s, { ...level, maxInFlight: 5 }));
    const ids = await publishAll(ctx.bus, s, 50);
    await waitFor(
      () => ctx.bus.stats().delivered >= 50,
      'all 50 received by the subscription',
      ctx.timeoutMs,
    );
    expect(ctx.bus.stats().dropped).toBe(45);
    const got: string[] = [];
    for await (const m of sub) {
      got.push(m.id);
      if (got.length === 5) break;
    }
    expect(got).toEqual(ids.slice(45));
    const stats = ctx.bus.stats();
    expect(stats.delivered).toBe(stats.acked + stats.nakked + stats.deadLettered + stats.inFlight);
  });

  test('at most maxInFlight handlers run at once; behind them the newest wait, the oldest are skipped', async (ctx) => {
    const s = ctx.subject('busy');
    let running = 0;
    let most = 0;
    const handled: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    ctx.track(
      await ctx.bus.consume(
        s,
        async (m) => {
          running++;
          most = Math.max(most, running);
          await gate;
          handled.push(m.text());
          running--;
        },
        { ...level, maxInFlight: 2 },
      ),
    );
    await publishAll(ctx.bus, s, 10);
    await waitFor(() => ctx.bus.stats().delivered >= 10, 'all 10 received', ctx.timeoutMs);
    expect(most).toBe(2);
    open();
    await waitFor(
      () => handled.length + ctx.bus.stats().dropped >= 10,
      'each handled or skipped',
      ctx.timeoutMs,
    );
    await sleep(ctx.quietMs);
    // two ran at a time; behind them at most two waited (the newest), the rest were skipped —
    // how many ran first depends on how the backend's client batches what arrives
    const dropped = ctx.bus.stats().dropped;
    expect(handled.length + dropped).toBe(10);
    expect(handled.length).toBeLessThanOrEqual(4);
    expect(handled.at(-1)).toBe('9');
    expect(handled.map(Number)).toEqual([...handled.map(Number)].sort((a, b) => a - b));
    expect(most).toBe(2);
  });

  test('a group shares at-most-once traffic: each message to one member', async (ctx) => {
    if (!ctx.capabilities.atMostOnce?.groups) return; // refused with ConfigError instead (tested above)
    const s = ctx.subject('shared');
    const group = ctx.group('g');
    const a: string[] = [];
    const b: string[] = [];
    for (const member of [a, b])
      ctx.track(await ctx.bus.consume(s, (m) => void member.push(m.id), { ...level, group }));
    const ids = await publishAll(ctx.bus, s, 40);
    await waitFor(() => a.length + b.length >= 40, '40 handled', ctx.timeoutMs);
    await sleep(ctx.quietMs);
    const all = [...a, ...b];
    expect(all.length).toBe(40);
    expect(new Set(all)).toEqual(new Set(ids));
  });
}
