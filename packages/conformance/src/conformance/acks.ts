import { DLQ_HEADERS, type Message } from '@omnibus/core';
import { deferred, waitFor } from '../reader.js';
import type { Expect } from '../runner.js';
import type { Register } from './context.js';

/** nak, redelivery, maxInFlight, retries and dead-letter. */
export function ackTests(test: Register, expect: Expect): void {
  test('nak → the same message is redelivered with attempt + 1', async (ctx) => {
    const s = ctx.subject('nak');
    const r = await ctx.read(s, { ack: 'manual' });
    const receipt = await ctx.bus.publish(s, 'again', { headers: { k: 'v' } });
    const first = await r.next();
    expect(first.attempt).toBe(1);
    // a few ms on: a redelivery that a backend stores anew (a retry copy) must keep the first time
    await new Promise((resolve) => setTimeout(resolve, 5));
    await first.nak();
    const second = await r.next();
    expect(second.id).toBe(receipt.id);
    expect(second.publishedAt.getTime()).toBe(first.publishedAt.getTime());
    expect(second.attempt).toBe(2);
    expect(second.text()).toBe('again');
    expect(second.headers).toEqual({ k: 'v' });
    await second.ack();
    expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test('settling twice is ignored; ack is final', async (ctx) => {
    const s = ctx.subject('twice');
    const r = await ctx.read(s, { ack: 'manual' });
    await ctx.bus.publish(s, 'x');
    const m = await r.next();
    await m.ack();
    expect(m.settled).toBe(true);
    await m.nak();
    await m.term('late');
    expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test('maxInFlight holds back the next message until one is acked', async (ctx) => {
    const s = ctx.subject('flow');
    const r = await ctx.read(s, { ack: 'manual', maxInFlight: 1 });
    for (let i = 0; i < 3; i++) await ctx.bus.publish(s, String(i));
    const m0 = await r.next();
    expect(m0.text()).toBe('0');
    expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
    await m0.ack();
    const m1 = await r.next();
    expect(m1.text()).toBe('1');
    await m1.ack();
    expect((await r.next()).text()).toBe('2');
  });

  test('consume never runs more than maxInFlight handlers at once', async (ctx) => {
    const s = ctx.subject('conc');
    let running = 0;
    let peak = 0;
    let done = 0;
    ctx.track(
      await ctx.bus.consume(
        s,
        async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 5));
          running--;
          done++;
        },
        { maxInFlight: 2 },
      ),
    );
    for (let i = 0; i < 20; i++) await ctx.bus.publish(s, String(i));
    await waitFor(() => done === 20, '20 handled messages', ctx.timeoutMs);
    expect(peak).toBeLessThanOrEqual(2);
    expect(peak).toBeGreaterThanOrEqual(1);
  });

  test('a throwing handler is retried, then dead-lettered with error headers; other consumers are unaffected', async (ctx) => {
    const s = ctx.subject('orders', 'failing');
    const dlq = await ctx.read(`dlq.${s}`);
    const attempts: number[] = [];
    // a group where the backend has them (its name is then in the dead letter); plain consumers elsewhere
    const grouped = ctx.capabilities.groups;
    const group = grouped ? ctx.group('workers') : undefined;
    ctx.track(
      await ctx.bus.consume(
        s,
        (m) => {
          attempts.push(m.attempt);
          throw new Error(`boom on attempt ${m.attempt}`);
        },
        { group, maxAttempts: 3, backoff: 0 },
      ),
    );
    const healthy: Message[] = [];
    ctx.track(
      await ctx.bus.consume(s, (m) => void healthy.push(m), grouped ? { group: ctx.group('healthy') } : {}),
    );
    const receipt = await ctx.bus.publish(s, 'poison', { headers: { original: 'yes' } });
    const dead = await dlq.next();
    expect(attempts).toEqual([1, 2, 3]);
    expect(dead.subject).toBe(`dlq.${s}`);
    expect(dead.text()).toBe('poison');
    expect(dead.headers.original).toBe('yes');
    expect(dead.headers[DLQ_HEADERS.subject]).toBe(s);
    expect(dead.headers[DLQ_HEADERS.id]).toBe(receipt.id);
    expect(dead.headers[DLQ_HEADERS.attempts]).toBe('3');
    if (group !== undefined) expect(dead.headers[DLQ_HEADERS.group]).toBe(group);
    expect(dead.headers[DLQ_HEADERS.error]).toContain('boom on attempt 3');
    await waitFor(() => healthy.length === 1, 'the healthy group to get the message', ctx.timeoutMs);
    expect(healthy[0]?.attempt).toBe(1);
    expect(await dlq.nothingWithin(ctx.quietMs)).toBeUndefined();
    expect(attempts).toEqual([1, 2, 3]);
  });

  test('term() dead-letters at once to a custom dead-letter subject with the reason', async (ctx) => {
    const s = ctx.subject('term');
    const target = ctx.subject('parking');
    const dlq = await ctx.read(target);
    const r = await ctx.read(s, { ack: 'manual', deadLetter: target });
    await ctx.bus.publish(s, 'bad');
    const m = await r.next();
    await m.term('cannot parse');
    const dead = await dlq.next();
    expect(dead.text()).toBe('bad');
    expect(dead.headers[DLQ_HEADERS.reason]).toBe('cannot parse');
    expect(dead.headers[DLQ_HEADERS.attempts]).toBe('1');
    expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test('nak at the last attempt dead-letters instead of redelivering', async (ctx) => {
    const s = ctx.subject('last');
    const dlq = await ctx.read(`dlq.${s}`);
    const r = await ctx.read(s, { ack: 'manual', maxAttempts: 2 });
    await ctx.bus.publish(s, 'x');
    await (await r.next()).nak();
    const second = await r.next();
    expect(second.attempt).toBe(2);
    await second.nak();
    expect((await dlq.next()).headers[DLQ_HEADERS.attempts]).toBe('2');
    expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
  });
}

/** `nak({ delayMs })` delays redelivery. */
export function delayedNakTests(test: Register, expect: Expect): void {
  test('nak({ delayMs }) redelivers no earlier than the delay', async (ctx) => {
    const s = ctx.subject('later');
    const r = await ctx.read(s, { ack: 'manual' });
    await ctx.bus.publish(s, 'x');
    const first = await r.next();
    const nakAt = Date.now();
    await first.nak({ delayMs: 400 });
    const again = await r.next();
    expect(Date.now() - nakAt).toBeGreaterThanOrEqual(380);
    expect(again.attempt).toBe(2);
    await again.ack();
  });

  test('backoff spaces retries of a failing handler', async (ctx) => {
    const s = ctx.subject('backoff');
    const times: number[] = [];
    const finished = deferred();
    ctx.track(
      await ctx.bus.consume(
        s,
        (m) => {
          times.push(Date.now());
          if (m.attempt < 3) throw new Error('not yet');
          finished.resolve();
        },
        { backoff: [150, 300] },
      ),
    );
    await ctx.bus.publish(s, 'x');
    await finished.promise;
    expect(times).toHaveLength(3);
    expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(140);
    expect((times[2] as number) - (times[1] as number)).toBeGreaterThanOrEqual(290);
  });
}

/** Consumer groups and resuming after a member dies. */
export function groupTests(test: Register, expect: Expect): void {
  test('two groups each get every message; within a group each message goes to one member and work is spread', async (ctx) => {
    // 20 subjects: a backend that gives each subject to one member (groupBalance 'subject') spreads them too
    const root = ctx.subject('work');
    const g1 = ctx.group('g1');
    const g2 = ctx.group('g2');
    const seen = { a: [] as Message[], b: [] as Message[], c: [] as Message[] };
    const handler = (into: Message[]) => async (m: Message) => {
      into.push(m);
      await new Promise((resolve) => setTimeout(resolve, 2));
    };
    ctx.track(await ctx.bus.consume(`${root}.*`, handler(seen.a), { group: g1, maxInFlight: 5 }));
    ctx.track(await ctx.bus.consume(`${root}.*`, handler(seen.b), { group: g1, maxInFlight: 5 }));
    ctx.track(await ctx.bus.consume(`${root}.*`, handler(seen.c), { group: g2, maxInFlight: 5 }));
    const all = Array.from({ length: 100 }, (_, i) => String(i));
    for (const v of all) await ctx.bus.publish(`${root}.k${Number(v) % 20}`, v);
    await waitFor(
      () => seen.a.length + seen.b.length === 100 && seen.c.length === 100,
      'both groups to finish',
      ctx.timeoutMs,
    );
    const texts = (ms: Message[]) => ms.map((m) => m.text());
    expect([...texts(seen.a), ...texts(seen.b)].sort()).toEqual([...all].sort());
    expect(texts(seen.c).sort()).toEqual([...all].sort());
    expect(seen.a.length).toBeGreaterThan(0);
    expect(seen.b.length).toBeGreaterThan(0);
  });

  test('a group spreads work as capabilities.groupBalance declares', async (ctx) => {
    const s = ctx.subject('balance');
    const group = ctx.group('g');
    const seen = { a: [] as string[], b: [] as string[] };
    const handler = (into: string[]) => async (m: Message) => {
      into.push(m.text());
      await new Promise((resolve) => setTimeout(resolve, 2));
    };
    ctx.track(await ctx.bus.consume(s, handler(seen.a), { group, maxInFlight: 5 }));
    ctx.track(await ctx.bus.consume(s, handler(seen.b), { group, maxInFlight: 5 }));
    const all = Array.from({ length: 60 }, (_, i) => String(i));
    for (const v of all) await ctx.bus.publish(s, v);
    await waitFor(() => seen.a.length + seen.b.length === 60, 'the group to finish', ctx.timeoutMs);
    expect([...seen.a, ...seen.b].sort()).toEqual([...all].sort());
    if (ctx.capabilities.groupBalance === 'message') {
      // one subject's messages go to every member
      expect(seen.a.length).toBeGreaterThan(0);
      expect(seen.b.length).toBeGreaterThan(0);
    } else {
      // one subject belongs to one member at a time, in publish order
      const owner = seen.a.length > 0 ? seen.a : seen.b;
      expect(owner).toEqual(all);
    }
  });

  test('crash and resume: unacked messages of a member that leaves go to a new member', async (ctx) => {
    const s = ctx.subject('resume');
    const group = ctx.group('g');
    const first = await ctx.read(s, { group, ack: 'manual' });
    const receipts = [];
    for (let i = 0; i < 3; i++) receipts.push(await ctx.bus.publish(s, String(i)));
    const unacked = await first.take(3);
    expect(unacked.map((m) => m.text())).toEqual(['0', '1', '2']);
    await first.subscription.close();
    const second = await ctx.read(s, { group, ack: 'manual' });
    const resumed = await second.take(3);
    expect(resumed.map((m) => m.id).sort()).toEqual(receipts.map((r) => r.id).sort());
    for (const m of resumed) {
      expect(m.attempt).toBeGreaterThanOrEqual(2);
      await m.ack();
    }
    await ctx.bus.publish(s, 'next');
    const next = await second.next();
    expect(next.text()).toBe('next');
    expect(next.attempt).toBe(1);
    await next.ack();
    expect(await second.nothingWithin(ctx.quietMs)).toBeUndefined();
  });
}
