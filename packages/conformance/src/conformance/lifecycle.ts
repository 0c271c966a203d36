import { AbortedError, BusClosedError, type Message } from '@omnibus/core';
import { deferred, waitFor } from '../reader.js';
import type { Expect } from '../runner.js';
import type { Register } from './context.js';

/** close/drain, AbortSignal and stats. */
export function lifecycleTests(test: Register, expect: Expect): void {
  test('close() waits for in-flight handlers, ends iterators, then rejects every call', async (ctx) => {
    const s = ctx.subject('drain');
    const started = deferred();
    let finished = false;
    await ctx.bus.consume(s, async () => {
      started.resolve();
      await new Promise((resolve) => setTimeout(resolve, 200));
      finished = true;
    });
    const sub = await ctx.bus.subscribe(ctx.subject('other'));
    const iterated = (async () => {
      for await (const _ of sub) {
        // no messages expected
      }
      return 'ended';
    })();
    await ctx.bus.publish(s, 'slow');
    await started.promise;
    await ctx.bus.close();
    expect(finished).toBe(true);
    expect(await iterated).toBe('ended');
    await sub.closed;
    await expect(ctx.bus.publish(s, 'x')).rejects.toBeInstanceOf(BusClosedError);
    await expect(ctx.bus.subscribe(s)).rejects.toBeInstanceOf(BusClosedError);
  });

  test('Symbol.asyncDispose closes the bus and subscriptions', async (ctx) => {
    const sub = await ctx.bus.subscribe(ctx.subject('dispose'));
    await ctx.bus[Symbol.asyncDispose]();
    await sub.closed;
    await expect(ctx.bus.publish(ctx.subject('x'), 'x')).rejects.toBeInstanceOf(BusClosedError);
  });

  test('subscription.close() ends iteration and stops delivery to it only', async (ctx) => {
    const s = ctx.subject('one');
    const closing = await ctx.read(s);
    const staying = await ctx.read(s);
    await ctx.bus.publish(s, 'before');
    expect((await closing.next()).text()).toBe('before');
    await closing.subscription.close();
    await closing.subscription.closed;
    await ctx.bus.publish(s, 'after');
    expect((await staying.take(2)).map((m) => m.text())).toEqual(['before', 'after']);
    await expect(closing.next(ctx.quietMs)).rejects.toThrow(/ended/);
  });

  test('an AbortSignal closes the subscription; an aborted signal refuses to subscribe', async (ctx) => {
    const s = ctx.subject('abort');
    const controller = new AbortController();
    const sub = await ctx.bus.subscribe(s, { signal: controller.signal });
    const got: Message[] = [];
    const loop = (async () => {
      for await (const m of sub) got.push(m);
    })();
    await ctx.bus.publish(s, 'one');
    await waitFor(() => got.length === 1, 'the first message', ctx.timeoutMs);
    controller.abort();
    await loop;
    await sub.closed;
    await ctx.bus.publish(s, 'two');
    expect(got.map((m) => m.text())).toEqual(['one']);
    await expect(ctx.bus.subscribe(s, { signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
    const c2 = new AbortController();
    let handled = 0;
    const consumer = await ctx.bus.consume(s, () => void handled++, { signal: c2.signal });
    c2.abort();
    await consumer.closed;
  });

  test('stats add up', async (ctx) => {
    const s = ctx.subject('stats');
    const dlq = await ctx.read(`dlq.${s}`);
    let handled = 0;
    ctx.track(
      await ctx.bus.consume(
        s,
        async (m) => {
          handled++;
          if (m.text() === 'retry' && m.attempt === 1) throw new Error('once');
          if (m.text() === 'poison') await m.term('poison');
        },
        { backoff: 0 },
      ),
    );
    const before = ctx.bus.stats();
    for (let i = 0; i < 8; i++) await ctx.bus.publish(s, 'ok');
    await ctx.bus.publish(s, 'retry');
    await ctx.bus.publish(s, 'poison');
    await ctx.bus.publish(s, 'dup', { id: `${s}-dup` });
    await dlq.next();
    await waitFor(() => handled === 12, 'every handler call', ctx.timeoutMs);
    await waitFor(() => ctx.bus.stats().inFlight === 1, 'settles', ctx.timeoutMs); // the DLQ message held by `dlq`
    const st = ctx.bus.stats();
    expect(st.published - before.published).toBe(11);
    expect(st.deadLettered).toBe(1);
    expect(st.nakked).toBe(1);
    expect(st.redelivered).toBe(1);
    expect(st.acked).toBe(10);
    expect(st.errors).toBe(1);
    expect(st.delivered).toBe(st.acked + st.nakked + st.deadLettered + st.inFlight);
    expect(st.delivered).toBe(13); // 11 + 1 redelivery + the DLQ copy
    for (const value of Object.values(st)) expect(Number.isInteger(value) && value >= 0).toBe(true);
  });

  test('health() answers ok while the bus is open, and says why not once it is closed', async (ctx) => {
    const open = await ctx.bus.health();
    expect(open).toMatchObject({ ok: true, state: 'open', backend: ctx.bus.backend, connectionLost: false });
    await ctx.bus.close();
    const closed = await ctx.bus.health();
    expect(closed.ok).toBe(false);
    expect(closed.state).toBe('closed');
    expect(closed.detail).toContain('closed');
  });
}
