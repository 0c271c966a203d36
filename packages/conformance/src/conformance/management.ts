import {
  type DeadLetter,
  InvalidArgumentError,
  InvalidSubjectError,
  type Message,
  manage,
  REDRIVE_HEADERS,
} from '@omnibus/core';
import { waitFor } from '../reader.js';
import type { Expect } from '../runner.js';
import type { ConformanceContext, Register } from './context.js';

/** Dead letters of this test only: `dlq.<prefix>.>`. */
const inTest = (ctx: ConformanceContext) => `dlq.${ctx.subject('>')}`;

/** Dead-letters `texts` on `subject` (a handler that always throws, one attempt); resolves once all are listed. */
async function deadLetter(
  ctx: ConformanceContext,
  subject: string,
  texts: readonly string[],
  group?: string,
) {
  const sub = await ctx.bus.consume(
    subject,
    (m) => {
      throw new Error(`boom: ${m.text()}`);
    },
    { maxAttempts: 1, ...(group ? { group } : {}) },
  );
  for (const text of texts) await ctx.bus.publish(subject, text, { id: `${subject}:${text}` });
  const admin = manage(ctx.bus);
  const listed = () => admin.deadLetters.list({ in: inTest(ctx), subject, limit: 1_000 });
  let count = 0;
  await waitFor(
    async () => {
      count = (await listed()).items.length;
      return count >= texts.length;
    },
    `${texts.length} dead letters listed on ${subject}`,
    ctx.timeoutMs,
  );
  await sub.close();
}

/** Handles every message of `pattern` into `seen` (acked). */
async function collect(ctx: ConformanceContext, pattern: string, seen: Message[]) {
  ctx.track(await ctx.bus.consume(pattern, (m) => void seen.push(m)));
}

/**
 * The management API (`manage(bus)`): dead letters listed, shown, redriven and purged by
 * selection, a redrive that is stopped losing nothing, and groups with their lag.
 */
export function managementTests(test: Register, expect: Expect): void {
  test('a dead letter is listed with what killed it, and shown by its reference', async (ctx) => {
    const subject = ctx.subject('orders', 'created');
    await deadLetter(ctx, subject, ['a'], ctx.group('workers'));
    const admin = manage(ctx.bus);
    const page = await admin.deadLetters.list({ in: inTest(ctx) });
    expect(page.items).toHaveLength(1);
    const dl = page.items[0] as DeadLetter;
    expect(dl).toMatchObject({
      id: `${subject}:a`,
      subject,
      deadLetterSubject: `dlq.${subject}`,
      group: ctx.group('workers'),
      attempts: 1,
      redriveCount: 0,
    });
    expect(dl.error ?? '').toContain('boom: a');
    expect(new TextDecoder().decode(dl.payload)).toBe('a');
    expect(await admin.deadLetters.show(dl.ref, { in: inTest(ctx) })).toMatchObject({
      ref: dl.ref,
      id: dl.id,
    });
  });

  test('redrive: back on the original subject at attempt 1 with the audit headers; the dead letter is gone', async (ctx) => {
    const subject = ctx.subject('orders', 'paid');
    await deadLetter(ctx, subject, ['a', 'b']);
    const seen: Message[] = [];
    await collect(ctx, subject, seen);
    const admin = manage(ctx.bus);
    const report = await admin.deadLetters.redrive({ in: inTest(ctx) });
    expect([report.selected, report.done, report.pendingRemoval, report.stopped]).toEqual([2, 2, 0, false]);
    await waitFor(() => seen.length >= 2, 'both redriven messages handled', ctx.timeoutMs);
    expect(seen.map((m) => m.text())).toEqual(['a', 'b']);
    for (const m of seen) {
      expect(m.attempt).toBe(1);
      expect(m.id).toBe(`${subject}:${m.text()}`);
      expect(m.headers[REDRIVE_HEADERS.count]).toBe('1');
      expect(m.headers[REDRIVE_HEADERS.reason] ?? '').toContain('failed after 1 attempts');
      expect(m.headers[REDRIVE_HEADERS.group]).toBeUndefined(); // no group dead-lettered it
      expect(m.headers['omnibus-dlq-subject']).toBeUndefined();
    }
    expect((await admin.deadLetters.list({ in: inTest(ctx) })).items).toHaveLength(0);
  });

  test('a redriven message that fails again is dead-lettered counting its redrives', async (ctx) => {
    const subject = ctx.subject('orders', 'loop');
    await deadLetter(ctx, subject, ['x']);
    const admin = manage(ctx.bus);
    const failing = await ctx.bus.consume(
      subject,
      () => {
        throw new Error('still broken');
      },
      { maxAttempts: 1 },
    );
    await admin.deadLetters.redrive({ in: inTest(ctx) });
    let again: DeadLetter | undefined;
    await waitFor(
      async () => {
        again = (await admin.deadLetters.list({ in: inTest(ctx) })).items[0];
        return again !== undefined;
      },
      'the redriven message dead-lettered again',
      ctx.timeoutMs,
    );
    await failing.close();
    expect(again?.redriveCount).toBe(1);
    expect(again?.error ?? '').toContain('still broken');
  });

  test('selection and dry run: a dry run changes nothing; purge removes only what matches', async (ctx) => {
    const paid = ctx.subject('orders', 'paid');
    const shipped = ctx.subject('orders', 'shipped');
    await deadLetter(ctx, paid, ['p1', 'p2']);
    await deadLetter(ctx, shipped, ['s1']);
    const admin = manage(ctx.bus);
    const dry = await admin.deadLetters.redrive(
      { in: inTest(ctx), subject: ctx.subject('orders', '*') },
      { dryRun: true },
    );
    expect([dry.selected, dry.done, dry.dryRun]).toEqual([3, 0, true]);
    expect(dry.listed.map((d) => d.subject).sort()).toEqual([paid, paid, shipped]);
    expect((await admin.deadLetters.list({ in: inTest(ctx) })).items).toHaveLength(3);
    const byError = await admin.deadLetters.list({ in: inTest(ctx), error: /boom: s/ });
    expect(byError.items.map((d) => d.subject)).toEqual([shipped]);
    const paged = await admin.deadLetters.list({ in: inTest(ctx), limit: 2 });
    expect(paged.items).toHaveLength(2);
    const rest = await admin.deadLetters.list({
      in: inTest(ctx),
      limit: 2,
      ...(paged.next ? { after: paged.next } : {}),
    });
    expect(rest.items).toHaveLength(1);
    expect(rest.next).toBeUndefined();
    const purged = await admin.deadLetters.purge({ in: inTest(ctx), subject: paid });
    expect([purged.selected, purged.done]).toEqual([2, 2]);
    const left = await admin.deadLetters.list({ in: inTest(ctx) });
    expect(left.items.map((d) => d.subject)).toEqual([shipped]);
  });

  test('a redrive stopped half way loses nothing: each message is still dead-lettered, republished, or both', async (ctx) => {
    const subject = ctx.subject('orders', 'many');
    const texts = Array.from({ length: 12 }, (_, i) => `m${i}`);
    await deadLetter(ctx, subject, texts);
    const seen: Message[] = [];
    await collect(ctx, subject, seen);
    const admin = manage(ctx.bus);
    const stop = new AbortController();
    const report = await admin.deadLetters.redrive(
      { in: inTest(ctx) },
      {
        rate: 50,
        signal: stop.signal,
        onProgress: (p) => {
          if (p.done >= 4) stop.abort();
        },
      },
    );
    expect(report.stopped).toBe(true);
    expect(report.done).toBeGreaterThanOrEqual(4);
    expect(report.done).toBeLessThanOrEqual(texts.length - 1);
    await waitFor(
      () => seen.length >= report.done,
      `${report.done} redriven messages handled`,
      ctx.timeoutMs,
    );
    const still = (await admin.deadLetters.list({ in: inTest(ctx), limit: 1_000 })).items.map((d) =>
      new TextDecoder().decode(d.payload),
    );
    const handled = seen.map((m) => m.text());
    expect([...new Set([...still, ...handled])].sort()).toEqual([...texts].sort());
    expect(still.length + handled.length).toBe(texts.length); // removed exactly when republished
  });

  test('paging keeps its place when the dead letters it follows are redriven or purged meanwhile', async (ctx) => {
    const subject = ctx.subject('orders', 'paged');
    const texts = ['a', 'b', 'c', 'd', 'e', 'f'];
    await deadLetter(ctx, subject, texts);
    const admin = manage(ctx.bus);
    const first = await admin.deadLetters.list({ in: inTest(ctx), limit: 3 });
    expect(first.items).toHaveLength(3);
    // the whole first page is purged before the next one is asked for
    const gone = await admin.deadLetters.purge({ in: inTest(ctx), refs: first.items.map((d) => d.ref) });
    expect(gone.done).toBe(3);
    const second = await admin.deadLetters.list({ in: inTest(ctx), limit: 3, after: first.next as string });
    const text = (d: DeadLetter) => new TextDecoder().decode(d.payload);
    expect(second.items.map(text).sort()).toEqual(
      texts.filter((t) => !first.items.map(text).includes(t)).sort(),
    );
    expect(second.next).toBeUndefined();
  });

  test('a RegExp with the g flag selects every match, not every other one', async (ctx) => {
    const subject = ctx.subject('orders', 'regexp');
    await deadLetter(ctx, subject, ['r1', 'r2', 'r3', 'r4']);
    const admin = manage(ctx.bus);
    const page = await admin.deadLetters.list({ in: inTest(ctx), error: /BOOM: r/gi });
    expect(page.items).toHaveLength(4);
    const dry = await admin.deadLetters.purge({ in: inTest(ctx), error: /boom/g }, { dryRun: true });
    expect(dry.selected).toBe(4);
  });

  test('a dry run lists every reference it selected; moving exactly those leaves what came after', async (ctx) => {
    const subject = ctx.subject('orders', 'planned');
    await deadLetter(ctx, subject, ['p1', 'p2']);
    const admin = manage(ctx.bus);
    const dry = await admin.deadLetters.purge({ in: inTest(ctx) }, { dryRun: true, maxListed: 0 });
    expect(dry.listed).toEqual([]);
    expect(dry.refs).toHaveLength(2);
    // dead-lettered after the dry run (while an operator confirms)
    await deadLetter(ctx, ctx.subject('orders', 'planned-later'), ['p3']);
    const purged = await admin.deadLetters.purge({ in: inTest(ctx), refs: dry.refs ?? [] });
    expect(purged.done).toBe(2);
    const left = (await admin.deadLetters.list({ in: inTest(ctx) })).items;
    expect(left.map((d) => new TextDecoder().decode(d.payload))).toEqual(['p3']);
  });

  test('a dead letter whose stored subject no publish accepts is skipped with its reason, not republished', async (ctx) => {
    const subject = ctx.subject('orders', 'forged');
    await deadLetter(ctx, subject, ['ok']);
    // a copy written by hand (or by a foreign tool) naming a pattern as its subject
    await ctx.bus.publish(`dlq.${subject}`, 'forged', {
      headers: {
        'omnibus-dlq-subject': ctx.subject('orders', '>'),
        'omnibus-dlq-reason': 'hand-made',
        'omnibus-dlq-at': new Date().toISOString(),
      },
    });
    const admin = manage(ctx.bus);
    await waitFor(
      async () => (await admin.deadLetters.list({ in: inTest(ctx) })).items.length >= 2,
      'both dead letters listed',
      ctx.timeoutMs,
    );
    const seen: Message[] = [];
    await collect(ctx, ctx.subject('orders', '>'), seen);
    const dry = await admin.deadLetters.redrive({ in: inTest(ctx) }, { dryRun: true });
    expect([dry.selected, dry.skipped]).toEqual([2, 1]);
    const report = await admin.deadLetters.redrive({ in: inTest(ctx) });
    expect([report.selected, report.done, report.skipped]).toEqual([2, 1, 1]);
    expect(report.skippedListed).toHaveLength(1);
    expect(report.skippedListed[0]?.subject).toBe(ctx.subject('orders', '>'));
    expect(/wildcard|pattern|subject/i.test(report.skippedListed[0]?.reason ?? '')).toBe(true);
    await waitFor(() => seen.length >= 1, 'the valid one redriven', ctx.timeoutMs);
    expect(seen.map((m) => m.text())).toEqual(['ok']);
    const left = (await admin.deadLetters.list({ in: inTest(ctx) })).items;
    expect(left.map((d) => new TextDecoder().decode(d.payload))).toEqual(['forged']);
  });

  test('bad input is refused with a typed error and nothing moves', async (ctx) => {
    const subject = ctx.subject('orders', 'bad');
    await deadLetter(ctx, subject, ['a']);
    const admin = manage(ctx.bus);
    await expect(admin.deadLetters.redrive({ in: inTest(ctx), subject: 'a..b' })).rejects.toBeInstanceOf(
      InvalidSubjectError,
    );
    await expect(admin.deadLetters.redrive({ in: inTest(ctx) }, { to: 'orders.*' })).rejects.toBeInstanceOf(
      InvalidSubjectError,
    );
    await expect(admin.deadLetters.redrive({ in: inTest(ctx) }, { rate: -1 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(admin.deadLetters.list({ in: inTest(ctx), limit: 0 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    expect((await admin.deadLetters.list({ in: inTest(ctx) })).items).toHaveLength(1);
  });

  test('groups: a group is listed with its pattern; its lag falls to 0 as a member catches up', async (ctx) => {
    const pattern = ctx.subject('jobs', '*');
    const group = ctx.group('lagging');
    await (await ctx.bus.subscribe(pattern, { group })).close(); // the group exists, no member runs
    for (let i = 0; i < 5; i++) await ctx.bus.publish(ctx.subject('jobs', 'x'), `j${i}`);
    const admin = manage(ctx.bus);
    const find = async () => (await admin.groups()).find((g) => g.group === group);
    let before = await find();
    await waitFor(
      async () => {
        before = await find();
        return before?.lag === undefined || before.lag >= 5;
      },
      'the group listed with its lag',
      ctx.timeoutMs,
    );
    expect(before?.patterns).toContain(pattern);
    // at least the 5 messages: Kafka counts the records the group still has to read on its
    // topics, which may include other records there (see its README); the fall to 0 is exact
    if (before?.lag !== undefined) expect(before.lag).toBeGreaterThanOrEqual(5);
    const seen: Message[] = [];
    ctx.track(await ctx.bus.consume(pattern, (m) => void seen.push(m), { group }));
    await waitFor(() => seen.length >= 5, 'the member caught up', ctx.timeoutMs);
    await waitFor(
      async () => {
        const after = await find();
        return (after?.lag ?? 0) === 0 && (after?.pending ?? 0) === 0;
      },
      'lag and pending back to 0',
      ctx.timeoutMs,
    );
  });
}
