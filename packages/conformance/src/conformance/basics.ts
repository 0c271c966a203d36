import {
  BusClosedError,
  InvalidArgumentError,
  InvalidSubjectError,
  PayloadTooLargeError,
} from '@omnibus/core';
import type { Expect } from '../runner.js';
import type { Register } from './context.js';

const text = new TextEncoder();

/** Subject validation and matching through the bus. */
export function subjectTests(test: Register, expect: Expect): void {
  test('publish rejects wildcards and malformed subjects with InvalidSubjectError, sending nothing', async (ctx) => {
    const r = await ctx.read(ctx.subject('>'));
    for (const bad of [
      ctx.subject('*'),
      ctx.subject('>'),
      `${ctx.subject('a')}..b`,
      '',
      ' ',
      `${ctx.subject('a b')}`,
      '$SYS.x',
      '_INBOX.x',
      'x'.repeat(256),
    ]) {
      await expect(ctx.bus.publish(bad, 'x')).rejects.toBeInstanceOf(InvalidSubjectError);
    }
    await expect(ctx.bus.publish(42 as unknown as string, 'x')).rejects.toBeInstanceOf(InvalidSubjectError);
    await ctx.bus.publish(ctx.subject('ok'), 'sentinel');
    const m = await r.next();
    expect(m.subject).toBe(ctx.subject('ok'));
    expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test('subscribe rejects malformed patterns with InvalidSubjectError', async (ctx) => {
    for (const bad of [
      `${ctx.subject('>')}.x`,
      `${ctx.subject('a*')}`,
      '',
      `${ctx.subject('a')}..b`,
      '$SYS.>',
    ]) {
      await expect(ctx.bus.subscribe(bad)).rejects.toBeInstanceOf(InvalidSubjectError);
      await expect(ctx.bus.consume(bad, () => {})).rejects.toBeInstanceOf(InvalidSubjectError);
    }
  });

  test('invalid headers and ids are rejected with InvalidArgumentError', async (ctx) => {
    const s = ctx.subject('h');
    await expect(ctx.bus.publish(s, 'x', { headers: { 'bad name': 'v' } })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(ctx.bus.publish(s, 'x', { headers: { ok: 'line\nbreak' } })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(ctx.bus.publish(s, 'x', { id: '' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(ctx.bus.publish(s, 'x', { id: 'has space' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
}

/** Payload, headers and metadata arrive byte-exact. */
export function payloadTests(test: Register, expect: Expect): void {
  test('payload bytes and headers arrive exactly as published', async (ctx) => {
    const s = ctx.subject('bytes');
    const r = await ctx.read(s);
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const big = Uint8Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919) % 251);
    const headers = {
      'x-unicode': 'ünïcødé ✓ 日本',
      'x-empty': '',
      'x-spaces': '  a  b  ',
      'Mixed-Case': 'Yes',
    };
    const r1 = await ctx.bus.publish(s, all, { headers });
    const r2 = await ctx.bus.publish(s, new Uint8Array(0));
    const r3 = await ctx.bus.publish(s, big);
    const [m1, m2, m3] = await r.take(3);
    expect(m1?.payload).toEqual(all);
    expect(m1?.headers).toEqual(headers);
    expect(m1?.id).toBe(r1.id);
    expect(m2?.payload).toEqual(new Uint8Array(0));
    expect(m2?.headers).toEqual({});
    expect(m2?.id).toBe(r2.id);
    expect(m3?.payload).toEqual(big);
    expect(m3?.id).toBe(r3.id);
    expect(r1.duplicate).toBe(false);
    expect(r1.subject).toBe(s);
  });

  test("headers named like a broker's or Omnibus's own metadata arrive unchanged and change nothing", async (ctx) => {
    const s = ctx.subject('namesakes');
    const r = await ctx.read(s);
    // the names brokers and adapters read themselves: each would change the subject, the publish
    // time, the attempt or the id, deduplicate the message or fail the publish if it went through
    const headers = {
      'Nats-Expected-Stream': 'no-such-stream',
      'Nats-Msg-Id': 'same-for-both',
      'Omnibus-Id': 'not-the-id',
      'Omnibus-Published-At': 'not-a-time',
      'omnibus-id': 'not-the-id',
      'omnibus-subject': 'elsewhere.x',
      'omnibus-published-at': 'not-a-time',
      'omnibus-attempt': '5',
      'omnibus-due': '99999999999999',
      'omnibus-group': 'someone-else',
      'omnibus-h-x': 'looks escaped',
      'Omnibus-H-y': 'looks escaped',
    };
    const before = Date.now();
    const r1 = await ctx.bus.publish(s, 'one', { headers });
    const r2 = await ctx.bus.publish(s, 'two', { headers });
    const got = await r.take(2);
    for (const [m, receipt] of [
      [got[0], r1],
      [got[1], r2],
    ] as const) {
      expect(m?.subject).toBe(s);
      expect(m?.id).toBe(receipt.id);
      expect(m?.attempt).toBe(1);
      expect(m?.headers).toEqual(headers);
      expect(m?.publishedAt.getTime()).toBeGreaterThanOrEqual(before - 5_000);
    }
    expect(got.map((m) => m.text())).toEqual(['one', 'two']);
    expect(r2.duplicate).toBe(false);
  });

  test('ids, timestamps, attempt and decoding helpers', async (ctx) => {
    const s = ctx.subject('meta');
    const r = await ctx.read(s);
    const before = Date.now();
    const receipt = await ctx.bus.publish(s, JSON.stringify({ n: 1, text: 'é' }), { id: 'order-42' });
    const after = Date.now();
    const m = await r.next();
    expect(receipt.id).toBe('order-42');
    expect(m.id).toBe('order-42');
    expect(m.subject).toBe(s);
    expect(m.attempt).toBe(1);
    expect(m.publishedAt).toBeInstanceOf(Date);
    expect(m.publishedAt.getTime()).toBeGreaterThanOrEqual(before - 5_000);
    expect(m.publishedAt.getTime()).toBeLessThanOrEqual(after + 5_000);
    expect(m.json()).toEqual({ n: 1, text: 'é' });
    expect(m.text()).toBe('{"n":1,"text":"é"}');
    expect(m.payload).toEqual(text.encode('{"n":1,"text":"é"}'));
  });

  test('generated ids are unique', async (ctx) => {
    const s = ctx.subject('ids');
    const receipts = await Promise.all(Array.from({ length: 200 }, () => ctx.bus.publish(s, 'x')));
    expect(new Set(receipts.map((r) => r.id)).size).toBe(200);
  });
}

/** Oversized payloads and closed buses. */
export function limitTests(test: Register, expect: Expect): void {
  test('an oversized payload is rejected with PayloadTooLargeError and nothing is delivered', async (ctx) => {
    const s = ctx.subject('big');
    const r = await ctx.read(s);
    const limit = ctx.capabilities.maxPayloadBytes;
    await expect(ctx.bus.publish(s, new Uint8Array(limit + 1))).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(
      ctx.bus.publishBatch([
        { subject: s, payload: 'fine' },
        { subject: s, payload: new Uint8Array(limit + 1) },
      ]),
    ).rejects.toBeInstanceOf(PayloadTooLargeError);
    await ctx.bus.publish(s, 'sentinel');
    expect((await r.next()).text()).toBe('sentinel');
    expect(await r.nothingWithin(ctx.quietMs)).toBeUndefined();
  });

  test('publishBatch delivers in order and validates every entry before sending any', async (ctx) => {
    const s = ctx.subject('batch');
    const r = await ctx.read(s);
    await expect(
      ctx.bus.publishBatch([
        { subject: s, payload: 'a' },
        { subject: ctx.subject('*'), payload: 'b' },
      ]),
    ).rejects.toBeInstanceOf(InvalidSubjectError);
    const receipts = await ctx.bus.publishBatch(
      Array.from({ length: 50 }, (_, i) => ({ subject: s, payload: String(i) })),
    );
    expect(receipts).toHaveLength(50);
    const got = await r.take(50);
    expect(got.map((m) => m.text())).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    expect(got.map((m) => m.id)).toEqual(receipts.map((x) => x.id));
  });

  test('publishBatch keeps batch order per subject when subjects interleave', async (ctx) => {
    // the backends send a batch pipelined (NATS, Redis) or as one request (Kafka): still, each
    // subject's entries are stored, and delivered, in batch order
    const a = ctx.subject('ia');
    const b = ctx.subject('ib');
    const ra = await ctx.read(a);
    const rb = await ctx.read(b);
    const entries = Array.from({ length: 60 }, (_, i) => ({
      subject: i % 3 === 0 ? b : a,
      payload: String(i),
    }));
    const receipts = await ctx.bus.publishBatch(entries);
    expect(receipts.map((x) => x.subject)).toEqual(entries.map((e) => e.subject));
    const of = (s: string) => entries.filter((e) => e.subject === s).map((e) => e.payload);
    expect((await ra.take(40)).map((m) => m.text())).toEqual(of(a));
    expect((await rb.take(20)).map((m) => m.text())).toEqual(of(b));
    expect(await ra.nothingWithin(ctx.quietMs)).toBeUndefined();
    expect(await rb.nothingWithin(0)).toBeUndefined();
  });

  test('every call after close rejects with BusClosedError', async (ctx) => {
    await ctx.bus.close();
    await expect(ctx.bus.publish(ctx.subject('x'), 'x')).rejects.toBeInstanceOf(BusClosedError);
    await expect(ctx.bus.publishBatch([{ subject: ctx.subject('x'), payload: 'x' }])).rejects.toBeInstanceOf(
      BusClosedError,
    );
    await expect(ctx.bus.subscribe(ctx.subject('x'))).rejects.toBeInstanceOf(BusClosedError);
    await expect(ctx.bus.consume(ctx.subject('x'), () => {})).rejects.toBeInstanceOf(BusClosedError);
    await ctx.bus.close(); // idempotent
  });
}
