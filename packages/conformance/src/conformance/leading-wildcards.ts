import { ConfigError, type Message } from '@omnibus/core';
import type { Reader } from '../reader.js';
import { waitFor } from '../reader.js';
import type { Expect } from '../runner.js';
import type { ConformanceContext, Register } from './context.js';

const sorted = (values: string[]) => [...values].sort();

/**
 * Tokens unique to this test. The first token of a subject is where Kafka puts a topic and
 * NATS a stream, so each test uses first tokens of its own (`a-<unique>`, …), and the
 * pattern's later tokens are unique too: `*.<unique>.created` never matches another test's
 * traffic on a shared broker.
 */
function tokens(ctx: ConformanceContext) {
  const u = ctx.subject(); // this test's unique prefix
  return { u, first: (name: string) => `${name}-${u}` };
}

/**
 * Reads `reader` until `count` messages for which `ours` holds arrived (others — a `>`
 * subscription sees the whole broker — are skipped), then checks that no further one of
 * ours arrives within `quietMs`.
 */
async function collect(
  reader: Reader,
  ours: (m: Message) => boolean,
  count: number,
  ctx: ConformanceContext,
): Promise<Message[]> {
  const got: Message[] = [];
  const deadline = Date.now() + ctx.timeoutMs;
  while (got.length < count) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`got ${got.length} of ${count} messages within ${ctx.timeoutMs} ms`);
    const m = await reader.next(left);
    if (ours(m)) got.push(m);
  }
  const quietUntil = Date.now() + ctx.quietMs;
  for (let left = ctx.quietMs; left > 0; left = quietUntil - Date.now()) {
    const m = await reader.nothingWithin(left);
    if (m === undefined) break;
    if (ours(m)) throw new Error(`unexpected extra message on "${m.subject}"`);
  }
  return got;
}

/**
 * Patterns that start with a wildcard (`*.created`, `>`, `*.eu.>`) work on every backend,
 * across first tokens — where Kafka has a topic and NATS a stream per first token, the
 * adapter emulates — including first tokens used for the first time after the subscription
 * went live. The handler always sees the real subject.
 */
export function leadingWildcardTests(test: Register, expect: Expect): void {
  test('"*.x.created" gets matching subjects of several first tokens, including one first used after subscribing', async (ctx) => {
    const { u, first } = tokens(ctx);
    const pattern = `*.${u}.created`;
    // this first token is in use before the subscription: published earlier, not delivered
    await ctx.bus.publish(`${first('a')}.${u}.created`, 'before subscribing');
    const star = await ctx.read(pattern);
    const created = [
      `${first('a')}.${u}.created`,
      `${first('b')}.${u}.created`, // first tokens never used before
      `${first('c')}.${u}.created`,
      `${first('заказы')}.${u}.created`,
    ];
    const others = [
      `${first('a')}.${u}.updated`,
      `${first('b')}.x.${u}.created`,
      `${first('b')}.${u}.x.created`,
      `${first('d')}.${u}`,
    ];
    for (const s of [...others, ...created]) await ctx.bus.publish(s, s);
    const got = await star.take(created.length);
    expect(sorted(got.map((m) => m.subject))).toEqual(sorted(created));
    for (const m of got) expect(m.text()).toBe(m.subject);
    expect(await star.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test('a first token used for the first time right after subscribe resolved is delivered at once', async (ctx) => {
    const { u, first } = tokens(ctx);
    const star = await ctx.read(`*.${u}.created`);
    const subject = `${first('fresh')}.${u}.created`;
    await ctx.bus.publish(subject, 'first message of a new first token');
    const m = await star.next();
    expect(m.subject).toBe(subject);
    expect(m.text()).toBe('first message of a new first token');
    // and the next new first token, once the subscription has been running a while
    await new Promise((resolve) => setTimeout(resolve, ctx.quietMs));
    const later = `${first('later')}.${u}.created`;
    await ctx.bus.publish(later, 'later');
    expect((await star.next()).subject).toBe(later);
    expect(await star.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test('">" gets every subject of every first token, a single token included', async (ctx) => {
    const { u, first } = tokens(ctx);
    await ctx.bus.publish(`${first('a')}.x`, 'before subscribing');
    const all = await ctx.read('>');
    const subjects = [
      `${first('a')}.x`,
      `${first('a')}.y.z`,
      `${first('b')}`,
      `${first('c')}.${u}.created`,
      `${first('ünï')}.x`,
    ];
    for (const s of subjects) await ctx.bus.publish(s, s);
    // a ">" subscription sees every test's traffic on a shared broker: only ours is counted
    const got = await collect(all, (m) => m.subject.includes(u), subjects.length, ctx);
    expect(sorted(got.map((m) => m.subject))).toEqual(sorted(subjects));
    for (const m of got) expect(m.text()).toBe(m.subject);
  });

  test('"*.eu.>" matches one first token of any name and one or more trailing tokens', async (ctx) => {
    const { u, first } = tokens(ctx);
    const eu = `eu-${u}`;
    const tail = await ctx.read(`*.${eu}.>`);
    const matching = [`${first('a')}.${eu}.created`, `${first('b')}.${eu}.x.y.z`, `${first('c')}.${eu}.paid`];
    const others = [
      `${first('a')}.${eu}`, // the prefix alone
      `${first('a')}.us-${u}.created`,
      `${first('a')}.x.${eu}.created`,
      `${eu}.created`,
    ];
    for (const s of [...others, ...matching]) await ctx.bus.publish(s, s);
    const got = await tail.take(matching.length);
    expect(sorted(got.map((m) => m.subject))).toEqual(sorted(matching));
    for (const m of got) expect(m.text()).toBe(m.subject);
    expect(await tail.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test('a group on "*.x.created" with two members: each message to exactly one member, with the real subject', async (ctx) => {
    const { u, first } = tokens(ctx);
    const pattern = `*.${u}.created`;
    if (!ctx.capabilities.groups) {
      // declared without groups: a group is refused with a ConfigError, nothing half-made
      await expect(
        ctx.bus.consume(pattern, () => undefined, { group: ctx.group('wild') }),
      ).rejects.toBeInstanceOf(ConfigError);
      return;
    }
    const group = ctx.group('wild');
    // one first token in use before the group exists
    await ctx.bus.publish(`${first('a')}.${u}.created`, 'before the group');
    const handled: { member: number; message: Message }[] = [];
    for (const member of [1, 2]) {
      ctx.track(
        await ctx.bus.consume(pattern, (message) => void handled.push({ member, message }), { group }),
      );
    }
    const subjects = [first('a'), first('b'), first('c'), first('d')].map((t) => `${t}.${u}.created`);
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) {
      for (const s of subjects) {
        await ctx.bus.publish(s, `${s}#${i}`);
        sent.push(`${s}#${i}`);
      }
    }
    await ctx.bus.publish(`${first('a')}.${u}.updated`, 'not matching');
    await waitFor(() => handled.length >= sent.length, 'every message handled', ctx.timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, ctx.quietMs));
    expect(sorted(handled.map((h) => h.message.text()))).toEqual(sorted(sent));
    for (const { message } of handled) expect(message.text().startsWith(`${message.subject}#`)).toBe(true);
  });
}
