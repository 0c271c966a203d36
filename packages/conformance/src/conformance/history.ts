import type { Expect } from '../runner.js';
import type { Register } from './context.js';

/** Publisher-id dedupe. */
export function dedupeTests(test: Register, expect: Expect): void {
  test('a second publish with the same id is reported duplicate and not delivered again', async (ctx) => {
    const s = ctx.subject('dedupe');
    const r = await ctx.read(s);
    const id = `${s}-order-1`;
    const first = await ctx.bus.publish(s, 'first', { id });
    const second = await ctx.bus.publish(s, 'second', { id });
    const batch = await ctx.bus.publishBatch([
      { subject: s, payload: 'third', id },
      { subject: s, payload: 'other', id: `${id}-b` },
    ]);
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.id).toBe(id);
    expect(batch.map((b) => b.duplicate)).toEqual([true, false]);
    await ctx.bus.publish(s, 'sentinel');
    const got = await r.take(3);
    expect(got.map((m) => m.text())).toEqual(['first', 'other', 'sentinel']);
    expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
    expect(ctx.bus.stats().duplicates).toBe(2);
  });
}

const gap = () => new Promise((resolve) => setTimeout(resolve, 20));

/** Replay from retained history. */
export function replayTests(test: Register, expect: Expect): void {
  test("from: 'earliest' replays retained messages in order, then continues live", async (ctx) => {
    const s = ctx.subject('replay');
    for (let i = 0; i < 5; i++) await ctx.bus.publish(s, `old-${i}`);
    await ctx.bus.publish(ctx.subject('elsewhere'), 'not mine');
    const r = await ctx.read(s, { from: 'earliest' });
    expect((await r.take(5)).map((m) => m.text())).toEqual(['old-0', 'old-1', 'old-2', 'old-3', 'old-4']);
    await ctx.bus.publish(s, 'new');
    expect((await r.next()).text()).toBe('new');
    expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test("from: 'earliest' with a wildcard replays every matching subject", async (ctx) => {
    await ctx.bus.publish(ctx.subject('w', 'a'), 'a');
    await ctx.bus.publish(ctx.subject('w', 'b'), 'b');
    await ctx.bus.publish(ctx.subject('x', 'c'), 'c');
    const r = await ctx.read(ctx.subject('w', '*'), { from: 'earliest' });
    expect((await r.take(2)).map((m) => m.text()).sort()).toEqual(['a', 'b']);
    expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test('from: { time } replays only messages published at or after that time', async (ctx) => {
    const s = ctx.subject('since');
    await ctx.bus.publish(s, 'before-1');
    await ctx.bus.publish(s, 'before-2');
    await gap();
    const since = new Date();
    await gap();
    await ctx.bus.publish(s, 'after-1');
    await ctx.bus.publish(s, 'after-2');
    const r = await ctx.read(s, { from: { time: since } });
    expect((await r.take(2)).map((m) => m.text())).toEqual(['after-1', 'after-2']);
    expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test("a new group with from: 'earliest' starts at the oldest retained message", async (ctx) => {
    const s = ctx.subject('group-replay');
    await ctx.bus.publish(s, 'kept');
    const r = await ctx.read(s, { group: ctx.group('late'), from: 'earliest' });
    expect((await r.next()).text()).toBe('kept');
  });
}
