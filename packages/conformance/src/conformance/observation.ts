import { activity, type BusEvent, observe } from '@omnibus/core';
import { waitFor } from '../reader.js';
import type { Expect } from '../runner.js';
import type { Register } from './context.js';

/** One line per event of this test's subjects: `published s`, `handed-out s #1`, `settled s #1 acked`. */
function lines(events: readonly BusEvent[], prefix: string): string[] {
  const out: string[] = [];
  for (const e of events) {
    if (e.type === 'published') {
      if (e.message.subject.startsWith(prefix)) out.push(`published ${e.message.subject}`);
    } else if (e.type === 'handed-out') {
      if (e.message.subject.startsWith(prefix))
        out.push(`handed-out ${e.message.subject} #${e.message.attempt}`);
    } else if (e.type === 'settled') {
      if (e.message.subject.startsWith(prefix))
        out.push(`settled ${e.message.subject} #${e.message.attempt} ${e.outcome}`);
    }
  }
  return out;
}

/**
 * `observe(bus)` and `activity(bus)`, which test harnesses, tracing and metrics build on: every
 * backend reports the same events, in order, with the outcome of each delivery.
 */
export function observationTests(test: Register, expect: Expect): void {
  test('observe() hears each publish, hand-out and settle with its outcome: acked, retried, dead-lettered', async (ctx) => {
    const events: BusEvent[] = [];
    const stop = observe(ctx.bus, (e) => {
      events.push(e);
    });
    try {
      const ok = ctx.subject('obs', 'ok');
      const bad = ctx.subject('obs', 'bad');
      ctx.track(
        await ctx.bus.consume(
          ctx.subject('obs', '*'),
          (m) => {
            if (m.subject === bad) throw new Error('refused');
          },
          { maxAttempts: 2, backoff: 0 },
        ),
      );
      await ctx.bus.publish(ok, 'x');
      await ctx.bus.publish(bad, 'y');
      const prefix = ctx.subject('obs');
      await waitFor(
        () => lines(events, prefix).filter((l) => l.startsWith('settled')).length >= 3,
        'three settles observed',
        ctx.timeoutMs,
      );
      const seen = lines(events, prefix);
      const of = (subject: string) => seen.filter((l) => l.includes(`${subject} `) || l.endsWith(subject));
      // the events of each message, in any order across attempts: a broker may hand out the
      // redelivery before the nak that stored it returns (Kafka writes a retry copy)
      expect([...of(ok)].sort()).toEqual(
        [`published ${ok}`, `handed-out ${ok} #1`, `settled ${ok} #1 acked`].sort(),
      );
      expect([...of(bad)].sort()).toEqual(
        [
          `published ${bad}`,
          `handed-out ${bad} #1`,
          `settled ${bad} #1 nakked`,
          `handed-out ${bad} #2`,
          `settled ${bad} #2 dead-lettered`,
        ].sort(),
      );
      // what is ordered: each hand-out before its own settle, and the attempts in order
      const at = (line: string) => seen.indexOf(line);
      for (const [subject, attempt, outcome] of [
        [ok, 1, 'acked'],
        [bad, 1, 'nakked'],
        [bad, 2, 'dead-lettered'],
      ] as const)
        expect(at(`handed-out ${subject} #${attempt}`)).toBeLessThan(
          at(`settled ${subject} #${attempt} ${outcome}`),
        );
      expect(at(`handed-out ${bad} #1`)).toBeLessThan(at(`handed-out ${bad} #2`));
      const dead = events.find(
        (e): e is Extract<BusEvent, { type: 'settled' }> =>
          e.type === 'settled' && e.outcome === 'dead-lettered' && e.message.subject === bad,
      );
      expect(dead?.deadLetterSubject).toBe(`dlq.${bad}`);
      expect(dead?.reason).toBe('failed after 2 attempts');
      expect(String(dead?.error)).toContain('refused');
      const published = events.find((e) => e.type === 'published' && e.message.subject === ok);
      expect(published?.type === 'published' && published.receipt.subject).toBe(ok);
    } finally {
      stop();
    }
  });

  test('activity() counts a message held unsettled until it is settled', async (ctx) => {
    const subject = ctx.subject('held');
    const reader = await ctx.read(subject, { ack: 'manual' });
    await ctx.bus.publish(subject, 'x');
    const m = await reader.next();
    expect(activity(ctx.bus).handedOut).toBeGreaterThanOrEqual(1);
    await m.ack();
    await waitFor(() => activity(ctx.bus).handedOut === 0, 'nothing held', ctx.timeoutMs);
    expect(activity(ctx.bus).publishing).toBe(0);
  });
}
