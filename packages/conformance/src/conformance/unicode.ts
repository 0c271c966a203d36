import { ConfigError, type Message } from '@omnibus/core';
import { waitFor } from '../reader.js';
import type { Expect } from '../runner.js';
import type { ConformanceContext, Register } from './context.js';

const sorted = (values: string[]) => [...values].sort();

/**
 * First tokens unique to this test: the non-ASCII token comes first (where Kafka puts a
 * topic per first token and NATS a stream), the test's prefix after it.
 */
function tokens(ctx: ConformanceContext) {
  const u = ctx.subject(); // this test's unique prefix
  return {
    cafe: `café-${u}`,
    orders: `заказы-${u}`,
    rocket: `🚀-${u}`,
    /** Tokens whose escaped names a careless encoding would confuse with `café-…`. */
    lookalikes: [`caf_c3_a9-${u}`, `cafe-${u}`, `CAFÉ-${u}`, `café_${u}`],
    /** Long enough that Kafka's 249-character names cannot hold them escaped: they differ only at the end. */
    long: [`${'ж'.repeat(200)}${u}a`, `${'ж'.repeat(200)}${u}b`],
  };
}

/**
 * Any valid token works on every backend, non-ASCII included — as the first token too, where
 * Kafka names a topic and NATS a stream after it. The handler always sees the real subject.
 */
export function unicodeSubjectTests(test: Register, expect: Expect): void {
  test('exact subscriptions on non-ASCII subjects get their own messages, with the real subject', async (ctx) => {
    const t = tokens(ctx);
    const subjects = [
      `${t.cafe}.x`,
      `${t.orders}.eu.created`,
      `${t.rocket}.launch`,
      ctx.subject('naïve', 'ünïcode', '✓'),
      ...t.lookalikes.map((k) => `${k}.x`),
      ...t.long.map((k) => `${k}.x`),
    ];
    const readers = [];
    for (const s of subjects) readers.push(await ctx.read(s));
    for (const s of subjects) await ctx.bus.publish(s, `payload of ${s}`);
    for (const [i, r] of readers.entries()) {
      const m = await r.next();
      expect(m.subject).toBe(subjects[i]);
      expect(m.text()).toBe(`payload of ${subjects[i]}`);
    }
    for (const r of readers) expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test('"*" and ">" under a non-ASCII first token match like anywhere else, with the real subject', async (ctx) => {
    const { orders, rocket } = tokens(ctx);
    const star = await ctx.read(`${orders}.*.created`);
    const tail = await ctx.read(`${orders}.>`);
    const rockets = await ctx.read(`${rocket}.>`);
    const created = [`${orders}.eu.created`, `${orders}.сша.created`, `${orders}.日本.created`];
    const others = [`${orders}.eu.x.created`, `${orders}.eu.updated`];
    for (const s of [...others, ...created]) await ctx.bus.publish(s, s);
    await ctx.bus.publish(orders, 'the first token alone');
    await ctx.bus.publish(`${rocket}.🌕.landed`, 'moon');
    const starred = await star.take(created.length);
    expect(sorted(starred.map((m) => m.subject))).toEqual(sorted(created));
    for (const m of starred) expect(m.text()).toBe(m.subject);
    const tailed = await tail.take(created.length + others.length);
    expect(sorted(tailed.map((m) => m.subject))).toEqual(sorted([...created, ...others]));
    expect((await rockets.next()).subject).toBe(`${rocket}.🌕.landed`);
    for (const r of [star, tail, rockets]) expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test('groups on non-ASCII subjects and patterns: each message to one member of each group, with the real subject', async (ctx) => {
    const { cafe, orders } = tokens(ctx);
    if (!ctx.capabilities.groups) {
      // declared without groups: a group is refused with a ConfigError, nothing half-made
      await expect(
        ctx.bus.consume(`${cafe}.>`, () => undefined, { group: ctx.group('a') }),
      ).rejects.toBeInstanceOf(ConfigError);
      return;
    }
    // two groups ("a" with two members, "b" with one); a group has one pattern, so one group per pattern
    const handled = new Map<string, Message[]>();
    const member = (name: string) => (m: Message) => {
      const list = handled.get(name) ?? [];
      list.push(m);
      handled.set(name, list);
    };
    for (const name of ['a', 'a', 'b']) {
      const [onOrders, onCafe] = [ctx.group(`${name}-orders`), ctx.group(`${name}-cafe`)];
      ctx.track(await ctx.bus.consume(`${orders}.*.created`, member(name), { group: onOrders }));
      ctx.track(await ctx.bus.consume(`${cafe}.x`, member(name), { group: onCafe }));
    }
    const subjects = [`${orders}.eu.created`, `${orders}.сша.created`, `${cafe}.x`];
    const sent: string[] = [];
    for (let i = 0; i < 4; i++) {
      for (const s of subjects) {
        await ctx.bus.publish(s, `${s}#${i}`);
        sent.push(`${s}#${i}`);
      }
    }
    const total = () => (handled.get('a')?.length ?? 0) + (handled.get('b')?.length ?? 0);
    await waitFor(() => total() >= sent.length * 2, 'every message handled by both groups', ctx.timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, ctx.quietMs));
    for (const name of ['a', 'b']) {
      const got = handled.get(name) ?? [];
      expect(sorted(got.map((m) => m.text()))).toEqual(sorted(sent));
      for (const m of got) expect(m.text().startsWith(`${m.subject}#`)).toBe(true);
    }
  });

  test('a dead letter of a non-ASCII subject arrives under dlq.<subject>', async (ctx) => {
    const { orders } = tokens(ctx);
    const s = `${orders}.eu.created`;
    const dlq = await ctx.read(`dlq.${s}`);
    ctx.track(
      await ctx.bus.consume(
        s,
        () => {
          throw new Error('always fails');
        },
        { maxAttempts: 1 },
      ),
    );
    await ctx.bus.publish(s, 'doomed');
    const dead = await dlq.next();
    expect(dead.subject).toBe(`dlq.${s}`);
    expect(dead.text()).toBe('doomed');
  });
}
