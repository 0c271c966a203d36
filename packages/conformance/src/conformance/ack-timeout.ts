import type { Message } from '@omnibus/core';
import { waitFor } from '../reader.js';
import type { Expect } from '../runner.js';
import type { Register } from './context.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Unsettled messages come back after the ack timeout, and their `maxInFlight` slots are freed. */
export function ackTimeoutTests(test: Register, expect: Expect): void {
  test('unsettled messages come back at attempt 2 and free their slots (20 of 20 delivered)', async (ctx) => {
    const s = ctx.subject('unsettled');
    const r = await ctx.read(s, { ack: 'manual', maxInFlight: 5, ackTimeoutMs: 1_000 });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await ctx.bus.publish(s, String(i))).id);
    const firstAttempt = new Set<string>();
    const redelivered = new Set<string>();
    const acked = new Set<string>();
    let leftUnsettled = 0;
    const held: Message[] = [];
    while (acked.size < 20) {
      const m = await r.next();
      if (m.attempt === 1) firstAttempt.add(m.id);
      else redelivered.add(m.id);
      if (m.attempt === 1 && leftUnsettled < 5) {
        leftUnsettled++;
        held.push(m); // never settled on this delivery
        continue;
      }
      await m.ack();
      acked.add(m.id);
    }
    expect([...firstAttempt].sort()).toEqual([...ids].sort());
    expect([...redelivered].sort()).toEqual(held.map((m) => m.id).sort());
    // a late settle of an expired delivery is ignored: nothing comes back because of it
    for (const m of held) {
      expect(m.settled).toBe(true);
      await m.nak();
      await m.ack();
    }
    expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test('a consume handler that never returns: its message comes back at attempt 2, the next ones are handled', async (ctx) => {
    const s = ctx.subject('hung');
    const seen: string[] = [];
    const late: unknown[] = [];
    ctx.track(
      await ctx.bus.consume(
        s,
        async (m) => {
          seen.push(`${m.text()}@${m.attempt}`);
          if (m.text() === 'hang' && m.attempt === 1) await sleep(2_500); // past the ack timeout
        },
        { maxInFlight: 1, ackTimeoutMs: 1_000, onError: (e) => late.push(e) },
      ),
    );
    await ctx.bus.publish(s, 'hang');
    await ctx.bus.publish(s, 'next');
    await waitFor(
      () => seen.includes('hang@2') && seen.includes('next@1'),
      'the hung message and the next one',
      ctx.timeoutMs,
    );
    expect(seen[0]).toBe('hang@1');
    await sleep(2_000); // the first handler returns: its late ack is ignored
    expect(seen.filter((x) => x.startsWith('hang')).length).toBe(2);
    expect(late).toEqual([]);
  });

  test('the ack timeout runs from hand-out: a message waiting in the buffer is not redelivered', async (ctx) => {
    const s = ctx.subject('buffered');
    const r = await ctx.read(s, { ack: 'manual', maxInFlight: 5, ackTimeoutMs: 1_000 });
    await ctx.bus.publish(s, 'a');
    await ctx.bus.publish(s, 'b');
    const a = await r.next();
    await a.ack();
    await sleep(2_200); // 'b' waits, pushed but not taken, for more than twice the ack timeout
    const b = await r.next();
    expect(b.text()).toBe('b');
    expect(b.attempt).toBe(1);
    await b.ack();
    expect(await r.nothingWithin(Math.max(ctx.quietMs, 1_500))).toBeUndefined();
  });

  test('stats stay balanced after ack timeouts: delivered = acked + nakked + dead-lettered + in flight', async (ctx) => {
    const s = ctx.subject('balance');
    const r = await ctx.read(s, { ack: 'manual', maxInFlight: 2, ackTimeoutMs: 1_000, maxAttempts: 2 });
    const before = ctx.bus.stats();
    await ctx.bus.publish(s, 'x');
    const m1 = await r.next();
    expect(m1.attempt).toBe(1);
    const m2 = await r.next(); // after the ack timeout
    expect(m2.attempt).toBe(2);
    // not settled again: at maxAttempts the ack timeout dead-letters it
    // (the identity holds at rest: a dead-letter is counted as its copy is sent, before its settle ends)
    await waitFor(
      () => {
        const now = ctx.bus.stats();
        return now.deadLettered > before.deadLettered && now.inFlight === before.inFlight;
      },
      'dead-letter after the last attempt',
      ctx.timeoutMs,
    );
    const st = ctx.bus.stats();
    expect(st.delivered - before.delivered).toBe(
      st.acked -
        before.acked +
        (st.nakked - before.nakked) +
        (st.deadLettered - before.deadLettered) +
        st.inFlight -
        before.inFlight,
    );
    await r.subscription.close();
  });
}
