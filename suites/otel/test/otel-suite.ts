// The instrumentation's tests, run on every backend (otel.test.ts): one trace from publish to
// handler, each attempt of a retried message, the settle that dead-letters, batches, a foreign
// producer's traceparent, and the metrics.
import { type EventBus, silentLogger } from '@omnibus/core';
import { instrumentOmnibus, type OmnibusInstrumentation } from '@omnibus/otel';
import { uniqueName } from '@omnibus/testing';
import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meterProvider, points, report, spansOf, tracerProvider } from './otel-setup.js';

const within = async (what: string, condition: () => boolean, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const named = (spans: ReadableSpan[], prefix: string) => spans.filter((s) => s.name.startsWith(prefix));

export function otelSuite(backend: string, createBus: () => Promise<EventBus>): void {
  describe(`OpenTelemetry on ${backend}`, () => {
    let bus: EventBus;
    let instrumentation: OmnibusInstrumentation;
    const continuity: Record<string, unknown> = {};
    beforeAll(async () => {
      instrumentation = instrumentOmnibus({ tracerProvider, meterProvider, settleSpans: 'all' });
      bus = await createBus();
    }, 60_000);
    afterAll(async () => {
      await bus?.close();
      instrumentation?.disable();
      report(backend, continuity);
    }, 60_000);

    it('one trace: publish → process (child of send) → the handler’s own publish → its process', async () => {
      const root = uniqueName('otel');
      const placed = `${root}.orders.placed`;
      const charged = `${root}.billing.charged`;
      let done = 0;
      await bus.consume(
        `${root}.orders.*`,
        async (m) => {
          await bus.publish(charged, m.payload);
        },
        { group: 'billing' },
      );
      await bus.consume(`${root}.billing.*`, () => void done++, { group: 'ledger' });
      const tracer = tracerProvider.getTracer('test');
      await tracer.startActiveSpan('http POST /orders', async (request) => {
        await bus.publish(placed, '{"orderId":"o-1"}', { id: `${root}-o-1` });
        request.end();
      });
      await within('both handlers', () => done === 1 && named(spansOf(root), 'process').length === 2);
      await within('the settles', () => named(spansOf(root), 'ack').length === 2);
      const spans = spansOf(root);
      const [send1, send2] = [named(spans, `send ${placed}`)[0], named(spans, `send ${charged}`)[0]];
      const [process1, process2] = [
        named(spans, `process ${root}.orders.*`)[0],
        named(spans, `process ${root}.billing.*`)[0],
      ];
      expect(send1 && send2 && process1 && process2).toBeTruthy();
      const traceIds = new Set([send1, send2, process1, process2].map((s) => s?.spanContext().traceId));
      expect(traceIds.size).toBe(1);
      expect(parentOf(process1 as ReadableSpan)).toBe(send1?.spanContext().spanId);
      expect(process1?.links[0]?.context.spanId).toBe(send1?.spanContext().spanId);
      expect(parentOf(send2 as ReadableSpan)).toBe(process1?.spanContext().spanId);
      expect(parentOf(process2 as ReadableSpan)).toBe(send2?.spanContext().spanId);
      expect(send1?.kind).toBe(SpanKind.PRODUCER);
      expect(process1?.kind).toBe(SpanKind.CONSUMER);
      expect(send1?.attributes).toMatchObject({
        'messaging.system': backend,
        'messaging.operation.name': 'send',
        'messaging.operation.type': 'send',
        'messaging.destination.name': placed,
        'messaging.message.id': `${root}-o-1`,
      });
      expect(process1?.attributes).toMatchObject({
        'messaging.system': backend,
        'messaging.operation.type': 'process',
        'messaging.destination.name': placed,
        'messaging.destination.template': `${root}.orders.*`,
        'messaging.consumer.group.name': 'billing',
        'omnibus.delivery.attempt': 1,
      });
      const settle = named(spans, 'ack').find((s) => parentOf(s) === process1?.spanContext().spanId);
      expect(settle?.attributes).toMatchObject({
        'messaging.operation.type': 'settle',
        'omnibus.settle.outcome': 'acked',
      });
      Object.assign(continuity, {
        sameTrace: traceIds.size === 1,
        producerTraceId: send1?.spanContext().traceId,
        consumerTraceId: process2?.spanContext().traceId,
        spans: spans.map((s) => s.name),
      });
    }, 60_000);

    it('a retried message shows each attempt; a dead-lettered one ends with a settle span saying so', async () => {
      const root = uniqueName('otelretry');
      const subject = `${root}.payments.charge`;
      await bus.consume(
        subject,
        () => {
          throw new Error('card declined');
        },
        { maxAttempts: 3, backoff: 0 },
      );
      await bus.publish(subject, 'x');
      await within('the dead letter', () => named(spansOf(root), 'dead_letter').length === 1);
      const spans = spansOf(root);
      const processes = named(spans, 'process').sort(
        (a, b) =>
          Number(a.attributes['omnibus.delivery.attempt']) - Number(b.attributes['omnibus.delivery.attempt']),
      );
      expect(processes.map((s) => s.attributes['omnibus.delivery.attempt'])).toEqual([1, 2, 3]);
      expect(processes.every((s) => s.status.code === SpanStatusCode.ERROR)).toBe(true);
      expect(processes[0]?.attributes['error.type']).toBe('Error');
      expect(processes[0]?.events.some((e) => e.name === 'exception')).toBe(true);
      expect(new Set(processes.map((s) => s.spanContext().traceId)).size).toBe(1); // the producer's trace
      expect(named(spans, 'nack').length).toBe(2);
      const dead = named(spans, 'dead_letter')[0];
      expect(dead?.attributes).toMatchObject({
        'omnibus.settle.outcome': 'dead-lettered',
        'omnibus.dead_letter.subject': `dlq.${subject}`,
        'omnibus.delivery.attempt': 3,
      });
      expect(dead?.status.code).toBe(SpanStatusCode.ERROR);
      expect(parentOf(dead as ReadableSpan)).toBe(processes[2]?.spanContext().spanId);
    }, 60_000);

    it('publishBatch: a create span per message (its creation context) linked from one send span', async () => {
      const root = uniqueName('otelbatch');
      const subject = `${root}.events.x`;
      let seen = 0;
      await bus.consume(subject, () => void seen++);
      await bus.publishBatch([
        { subject, payload: 'a' },
        { subject, payload: 'b' },
      ]);
      await within('two processes', () => seen === 2 && named(spansOf(root), 'process').length === 2);
      const spans = spansOf(root);
      const creates = named(spans, 'create');
      const send = named(spans, 'send')[0];
      expect(creates).toHaveLength(2);
      expect(send?.attributes['messaging.batch.message_count']).toBe(2);
      expect(send?.links.map((l) => l.context.spanId).sort()).toEqual(
        creates.map((c) => c.spanContext().spanId).sort(),
      );
      const parents = named(spans, 'process').map(parentOf).sort();
      expect(parents).toEqual(creates.map((c) => c.spanContext().spanId).sort());
    }, 60_000);

    it('a message from a foreign producer that carries traceparent continues its trace', async () => {
      const root = uniqueName('otelforeign');
      const subject = `${root}.legacy.event`;
      const group = 'legacy-reader';
      let seen = 0;
      // the group exists (durable) but has no member while the foreign message arrives
      await (await bus.consume(subject, () => {}, { group })).close();
      // what another service's instrumentation (e.g. contrib's for kafkajs) puts in the headers
      const foreign = trace.wrapSpanContext({
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        spanId: '00f067aa0ba902b7',
        traceFlags: 1,
      });
      const headers: Record<string, string> = {};
      propagation.inject(trace.setSpan(ROOT_CONTEXT, foreign), headers);
      // published without the instrumentation: only the header carries the context
      instrumentation.disable();
      try {
        await bus.publish(subject, 'x', { headers });
      } finally {
        instrumentation.enable();
      }
      await bus.consume(subject, () => void seen++, { group });
      await within('the process span', () => seen === 1 && named(spansOf(root), 'process').length === 1);
      const process = named(spansOf(root), 'process')[0];
      expect(process?.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(parentOf(process as ReadableSpan)).toBe('00f067aa0ba902b7');
    }, 60_000);

    it('by default, settles get a span only when they are not acks (settleSpans: failures)', async () => {
      instrumentation.disable();
      const defaults = instrumentOmnibus({ tracerProvider, meterProvider });
      try {
        const root = uniqueName('otelsettle');
        const subject = `${root}.s.x`;
        let calls = 0;
        await bus.consume(
          subject,
          () => {
            if (++calls === 1) throw new Error('once');
          },
          { backoff: 0 },
        );
        await bus.publish(subject, 'x');
        await within('two processes', () => named(spansOf(root), 'process').length === 2);
        await within('the nack', () => named(spansOf(root), 'nack').length === 1);
        await new Promise((r) => setTimeout(r, 200));
        expect(named(spansOf(root), 'ack ')).toHaveLength(0);
      } finally {
        defaults.disable();
        instrumentation.enable();
      }
      expect(() => instrumentOmnibus({ settleSpans: 'some' as 'all' })).toThrow(/settleSpans must be/);
    }, 60_000);

    it('records the metrics: sent, consumed, durations, redelivered, dead-lettered', async () => {
      const has = async (name: string, where: (a: Record<string, unknown>) => boolean) =>
        (await points(name)).filter((p) => where(p.attributes)).reduce((n, p) => n + p.value, 0);
      const mine = (a: Record<string, unknown>) => a['messaging.system'] === backend;
      expect(await has('messaging.client.sent.messages', mine)).toBeGreaterThanOrEqual(5);
      expect(await has('messaging.client.operation.duration', mine)).toBeGreaterThanOrEqual(4); // a batch is one send
      expect(await has('messaging.client.consumed.messages', mine)).toBeGreaterThanOrEqual(7);
      expect(await has('messaging.process.duration', mine)).toBeGreaterThanOrEqual(7);
      expect(await has('omnibus.messages.redelivered', mine)).toBeGreaterThanOrEqual(2);
      expect(await has('omnibus.messages.dead_lettered', mine)).toBeGreaterThanOrEqual(1);
      // bounded cardinality: metric attributes name patterns and groups, never message ids
      const all = await points('messaging.client.consumed.messages');
      expect(all.every((p) => !('messaging.message.id' in p.attributes))).toBe(true);
    });
  });
}

export const quiet = { logger: silentLogger };
