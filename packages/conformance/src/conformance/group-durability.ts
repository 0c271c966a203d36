import type { Message } from '@omnibus/core';
import { waitFor } from '../reader.js';
import type { Expect } from '../runner.js';
import type { ConformanceContext, Register } from './context.js';

/** Generous: member restarts cost a rebalance on some brokers. */
const DURABILITY_TIMEOUT_MS = 90_000;

/** Handles every message of `group` on `pattern` with `members` consumers; returns what they saw. */
async function startMembers(
  ctx: ConformanceContext,
  pattern: string,
  group: string,
  members: number,
): Promise<Message[]> {
  const seen: Message[] = [];
  for (let i = 0; i < members; i++) {
    ctx.track(await ctx.bus.consume(pattern, (m) => void seen.push(m), { group }));
  }
  return seen;
}

const texts = (messages: readonly Message[]) => messages.map((m) => m.text()).sort();

/**
 * A group exists from its first subscribe: every message published to a
 * matching subject after that reaches it — subjects first used while members
 * restart or while no member runs at all included. A new subscription on the
 * same bus after the previous one closed is the member's restart.
 */
export function groupDurabilityTests(test: Register, expect: Expect): void {
  test(
    'a member restarted around each publish to a new subject: the next member handles every message',
    async (ctx) => {
      const pattern = ctx.subject('orders', '*', 'created');
      const group = ctx.group('restarts');
      const sent: string[] = [];
      for (let k = 0; k < 5; k++) {
        const member = await ctx.bus.subscribe(pattern, { group });
        const text = `m${k}`;
        await ctx.bus.publish(ctx.subject('orders', `s${k}`, 'created'), text); // a subject never used before
        sent.push(text);
        await member.close();
      }
      const seen = await startMembers(ctx, pattern, group, 1);
      await waitFor(() => seen.length >= sent.length, `${sent.length} messages handled`, ctx.timeoutMs);
      await new Promise((resolve) => setTimeout(resolve, ctx.quietMs));
      expect(texts(seen)).toEqual(sent);
      expect(seen.map((m) => m.subject).sort()).toEqual(
        [0, 1, 2, 3, 4].map((k) => ctx.subject('orders', `s${k}`, 'created')),
      );
    },
    DURABILITY_TIMEOUT_MS,
  );

  test(
    'no member running when a subject first appears: a member started later handles its messages',
    async (ctx) => {
      const pattern = ctx.subject('orders', '*', 'created');
      const group = ctx.group('absent');
      const member = await ctx.bus.subscribe(pattern, { group });
      await member.close(); // the group exists; nobody runs
      await ctx.bus.publish(ctx.subject('orders', 'late', 'created'), 'one');
      await ctx.bus.publish(ctx.subject('orders', 'late', 'created'), 'two');
      await ctx.bus.publish(ctx.subject('orders', 'later', 'created'), 'three');
      const seen = await startMembers(ctx, pattern, group, 1);
      await waitFor(() => seen.length >= 3, '3 messages handled', ctx.timeoutMs);
      await new Promise((resolve) => setTimeout(resolve, ctx.quietMs));
      expect(texts(seen)).toEqual(['one', 'three', 'two']);
    },
    DURABILITY_TIMEOUT_MS,
  );

  test(
    'every member restarted: messages published meanwhile, to old and new subjects, are handled once',
    async (ctx) => {
      const pattern = ctx.subject('orders', '*', 'created');
      const group = ctx.group('all-restarted');
      const live: Message[] = [];
      const first = [
        await ctx.bus.consume(pattern, (m) => void live.push(m), { group }),
        await ctx.bus.consume(pattern, (m) => void live.push(m), { group }),
      ];
      await ctx.bus.publish(ctx.subject('orders', 'old', 'created'), 'before');
      await waitFor(() => live.length >= 1, 'the first message handled', ctx.timeoutMs);
      await Promise.all(first.map((member) => member.close()));
      // every member is gone: an old subject and a new one
      await ctx.bus.publish(ctx.subject('orders', 'old', 'created'), 'old subject');
      await ctx.bus.publish(ctx.subject('orders', 'new', 'created'), 'new subject');
      const seen = await startMembers(ctx, pattern, group, 2);
      await waitFor(() => seen.length >= 2, '2 messages handled', ctx.timeoutMs);
      await new Promise((resolve) => setTimeout(resolve, ctx.quietMs));
      expect(texts(live)).toEqual(['before']);
      expect(texts(seen)).toEqual(['new subject', 'old subject']);
    },
    DURABILITY_TIMEOUT_MS,
  );

  test(
    'a member naks with a delay and leaves, on a subject first used after it subscribed: the next member gets the message',
    async (ctx) => {
      const pattern = ctx.subject('later', '*');
      const group = ctx.group('nak-leave');
      const first = await ctx.read(pattern, { group, ack: 'manual' });
      await ctx.bus.publish(ctx.subject('later', 'fresh'), 'once'); // the subject appears now
      const held = await first.next();
      await held.nak({ delayMs: 1_000 });
      await first.subscription.close();
      const second = await ctx.read(pattern, { group, ack: 'manual' });
      const again = await second.next();
      expect(again.text()).toBe('once');
      expect(again.attempt).toBe(2);
      await again.ack();
      expect(await second.nothingWithin(ctx.quietMs)).toBeUndefined();
    },
    DURABILITY_TIMEOUT_MS,
  );
}
