import type { EventBus, Message } from '@omnibus/core';
import { waitFor } from '../reader.js';
import type { Expect } from '../runner.js';
import type { ConformanceContext, Register } from './context.js';

/** Waits until the bus has pushed `n` more deliveries into its subscriptions than `before`. */
async function deliveredAtLeast(ctx: ConformanceContext, bus: EventBus, before: number, n: number) {
  await waitFor(() => bus.stats().delivered - before >= n, `${n} deliveries into the buffer`, ctx.timeoutMs);
}

/**
 * Releasing on close: messages a closing member held but never handed out go
 * back unchanged (same attempt, same order), and nothing is dead-lettered for
 * deliveries no handler saw, whatever the broker counts.
 */
export function releaseTests(test: Register, expect: Expect): void {
  test('a grouped member closed right after a publish: the next member handles every message at attempt 1, in order', async (ctx) => {
    const s = ctx.subject('release', 'fresh');
    const group = ctx.group('billing');
    const dlq = await ctx.read(`dlq.${s}`);
    const before = ctx.bus.stats().delivered;
    // subscribed but never iterated: whatever the backend prefetches stays unseen
    const first = await ctx.bus.subscribe(s, { group, maxAttempts: 2, maxInFlight: 10 });
    for (let i = 0; i < 3; i++) await ctx.bus.publish(s, String(i));
    await deliveredAtLeast(ctx, ctx.bus, before, 3);
    await ctx.bus.publish(s, '3'); // arrives while (or after) the member closes
    await first.close();
    const seen: Message[] = [];
    ctx.track(await ctx.bus.consume(s, (m) => void seen.push(m), { group, maxAttempts: 2, maxInFlight: 10 }));
    await waitFor(() => seen.length >= 4, 'the next member to handle all four', ctx.timeoutMs);
    expect(seen.map((m) => m.text())).toEqual(['0', '1', '2', '3']);
    expect(seen.map((m) => m.attempt)).toEqual([1, 1, 1, 1]);
    expect(await dlq.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test('a member restarted repeatedly with a full buffer: nothing unseen is dead-lettered and attempt ≤ hand-outs + 1', async (ctx) => {
    const s = ctx.subject('release', 'restart');
    const group = ctx.group('restarts');
    const options = { group, ack: 'manual' as const, maxAttempts: 3, maxInFlight: 5 };
    const dlq = await ctx.read(`dlq.${s}`);
    const all = Array.from({ length: 8 }, (_, i) => String(i));
    const handouts = new Map<string, number>();
    for (let round = 0; round < 5; round++) {
      const before = ctx.bus.stats().delivered;
      const member = await ctx.read(s, options);
      if (round === 0) for (const v of all) await ctx.bus.publish(s, v); // the group exists now
      if (round % 2 === 0) {
        // hand one message out and leave it unacked: that one counts as an attempt
        const m = await member.next();
        handouts.set(m.text(), (handouts.get(m.text()) ?? 0) + 1);
      }
      await deliveredAtLeast(ctx, ctx.bus, before, options.maxInFlight);
      await member.subscription.close();
    }
    const last = await ctx.read(s, { ...options, maxAttempts: 10 });
    const got: Message[] = [];
    while (got.length < all.length) {
      const m = await last.next();
      got.push(m);
      await m.ack();
    }
    expect(got.map((m) => m.text()).sort()).toEqual([...all].sort());
    // an attempt counts hand-outs: never more than the hand-outs seen so far, plus this one
    const overCounted = got
      .filter((m) => m.attempt > (handouts.get(m.text()) ?? 0) + 1)
      .map((m) => `"${m.text()}": attempt ${m.attempt}, handed out ${handouts.get(m.text()) ?? 0} times`);
    expect(overCounted).toEqual([]);
    for (const m of got) expect(m.attempt).toBeGreaterThanOrEqual(1);
    expect(await dlq.nothingWithin(ctx.quietMs)).toBeUndefined();
  });
}
