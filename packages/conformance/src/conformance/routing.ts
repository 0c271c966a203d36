import type { Message } from '@omnibus/core';
import type { Expect } from '../runner.js';
import type { Register } from './context.js';

const sorted = (values: string[]) => [...values].sort();

/** Fan-out and wildcard routing. */
export function routingTests(test: Register, expect: Expect): void {
  test('fan-out: every ungrouped subscription receives every message', async (ctx) => {
    const s = ctx.subject('fan');
    const readers = await Promise.all([ctx.read(s), ctx.read(s), ctx.read(s), ctx.read(ctx.subject('>'))]);
    for (let i = 0; i < 10; i++) await ctx.bus.publish(s, String(i));
    for (const r of readers) {
      expect((await r.take(10)).map((m) => m.text())).toEqual(
        Array.from({ length: 10 }, (_, i) => String(i)),
      );
      expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
    }
  });

  test('"*" matches exactly one token, on subjects first used after subscribing, with the real subject', async (ctx) => {
    const star = await ctx.read(ctx.subject('orders', '*', 'created'));
    const subjects = ['eu', 'us', 'apac'].map((r) => ctx.subject('orders', r, 'created'));
    await ctx.bus.publish(ctx.subject('orders', 'eu', 'x', 'created'), 'deeper');
    await ctx.bus.publish(ctx.subject('orders', 'created'), 'shallower');
    await ctx.bus.publish(ctx.subject('orders', 'eu', 'updated'), 'other');
    for (const s of subjects) await ctx.bus.publish(s, s);
    const got = await star.take(3);
    expect(sorted(got.map((m) => m.subject))).toEqual(sorted(subjects));
    for (const m of got) expect(m.text()).toBe(m.subject);
    expect(await star.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test('">" matches one or more trailing tokens, not the prefix alone', async (ctx) => {
    const tail = await ctx.read(ctx.subject('orders', '>'));
    const matching = [
      ctx.subject('orders', 'eu'),
      ctx.subject('orders', 'eu', 'x', 'created'),
      ctx.subject('orders', 'us', 'paid'),
    ];
    await ctx.bus.publish(ctx.subject('orders'), 'prefix alone');
    await ctx.bus.publish(ctx.subject('ordersx', 'eu'), 'other root');
    for (const s of matching) await ctx.bus.publish(s, s);
    const got = await tail.take(3);
    expect(sorted(got.map((m: Message) => m.subject))).toEqual(sorted(matching));
    expect(await tail.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test('exact, "*" and ">" subscriptions on overlapping subjects each get their own matches', async (ctx) => {
    const exact = await ctx.read(ctx.subject('a', 'b'));
    const star = await ctx.read(ctx.subject('a', '*'));
    const tail = await ctx.read(ctx.subject('>'));
    await ctx.bus.publish(ctx.subject('a', 'b'), '1');
    await ctx.bus.publish(ctx.subject('a', 'c'), '2');
    await ctx.bus.publish(ctx.subject('a', 'b', 'c'), '3');
    expect((await exact.take(1)).map((m) => m.text())).toEqual(['1']);
    expect(sorted((await star.take(2)).map((m) => m.text()))).toEqual(['1', '2']);
    expect(sorted((await tail.take(3)).map((m) => m.text()))).toEqual(['1', '2', '3']);
    for (const r of [exact, star, tail]) expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
  });
}

/** Ordering, isolation and concurrency. */
export function deliveryTests(test: Register, expect: Expect): void {
  test('per-subject order: 1,000 messages from one publisher arrive in order', async (ctx) => {
    const s = ctx.subject('ordered');
    const r = await ctx.read(s);
    for (let i = 0; i < 1000; i++) await ctx.bus.publish(s, String(i));
    const got = await r.take(1000, ctx.timeoutMs * 2);
    expect(got.map((m) => Number(m.text()))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  }, 60_000);

  test('20 subjects × 100 messages: no crosstalk, each in order', async (ctx) => {
    const subjects = Array.from({ length: 20 }, (_, i) => ctx.subject('iso', `s${i}`));
    const readers = await Promise.all(subjects.map((s) => ctx.read(s)));
    for (let i = 0; i < 100; i++) await Promise.all(subjects.map((s) => ctx.bus.publish(s, `${s}#${i}`)));
    await Promise.all(
      readers.map(async (r, k) => {
        const got = await r.take(100, ctx.timeoutMs * 2);
        expect(got.every((m) => m.subject === subjects[k])).toBe(true);
        expect(got.map((m) => m.text())).toEqual(
          Array.from({ length: 100 }, (_, i) => `${subjects[k]}#${i}`),
        );
      }),
    );
    for (const r of readers) expect(await r.nothingWithin(10)).toBeUndefined();
  }, 60_000);

  test('50 concurrent publishers × 100 messages reach every subscriber exactly once, per-publisher order kept', async (ctx) => {
    const s = ctx.subject('many');
    const readers = await Promise.all([ctx.read(s), ctx.read(s), ctx.read(ctx.subject('*'))]);
    await Promise.all(
      Array.from({ length: 50 }, async (_, p) => {
        for (let i = 0; i < 100; i++) await ctx.bus.publish(s, `${p}:${i}`);
      }),
    );
    await Promise.all(
      readers.map(async (r) => {
        const got = await r.take(5000, ctx.timeoutMs * 3);
        expect(new Set(got.map((m) => m.id)).size).toBe(5000);
        const last = new Map<number, number>();
        for (const m of got) {
          const [p, i] = m.text().split(':').map(Number) as [number, number];
          expect(i).toBe((last.get(p) ?? -1) + 1);
          last.set(p, i);
        }
        expect(last.size).toBe(50);
      }),
    );
  }, 120_000);
}
