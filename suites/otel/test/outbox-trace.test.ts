// One trace across the transactional outbox: the request that writes an order row and its event
// (inside a span), the relay that forwards it later from a loop with no span of its own, and the
// consumer — on the memory bus and NATS, with the machine's PostgreSQL.
import { randomBytes } from 'node:crypto';
import { type EventBus, silentLogger } from '@omnibus/core';
import { createMemoryBus } from '@omnibus/memory';
import { createNatsBus } from '@omnibus/nats';
import { instrumentOmnibus, liveness, readiness, traceHeaders } from '@omnibus/otel';
import { createOutbox, migrate, pgDatabase, startRelay } from '@omnibus/outbox';
import { trace } from '@opentelemetry/api';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { meterProvider, spansOf, tracerProvider } from './otel-setup.js';

const pool = new pg.Pool({
  connectionString: process.env.OMNIBUS_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
});
pool.on('error', () => undefined);
afterAll(() => pool.end());

const buses: [string, () => Promise<EventBus>][] = [
  ['memory', async () => createMemoryBus({ logger: silentLogger })],
  [
    'nats',
    () => createNatsBus({ url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', logger: silentLogger }),
  ],
];

describe('a trace through the outbox', () => {
  for (const [backend, create] of buses) {
    it(`request span → outbox row → relay → consumer's process span, one trace (${backend})`, async () => {
      const instrumentation = instrumentOmnibus({ tracerProvider, meterProvider });
      const schema = `otel_${randomBytes(5).toString('hex')}`;
      const database = pgDatabase<pg.PoolClient>(pool);
      await migrate(database, { schema });
      const bus = await create();
      const token = `obtrace${randomBytes(4).toString('hex')}`;
      const relay = await startRelay({ database, bus, schema, pollIntervalMs: 20 });
      try {
        let handled!: () => void;
        const done = new Promise<void>((resolve) => {
          handled = resolve;
        });
        let handlerTraceId: string | undefined;
        await bus.consume(`${token}.>`, () => {
          handlerTraceId = trace.getActiveSpan()?.spanContext().traceId;
          handled();
        });
        const outbox = createOutbox({ schema, contextHeaders: traceHeaders });
        const tracer = tracerProvider.getTracer('app');
        // the request: its span is active while the row and the event are written
        const requestTraceId = await tracer.startActiveSpan('POST /orders', async (span) => {
          await database.transaction((tx) => outbox.publish(tx, `${token}.created`, 'x'));
          span.end();
          return span.spanContext().traceId;
        });
        await done;
        const spans = spansOf(token);
        const created = spans.find((s) => s.name.startsWith('create '));
        const processed = spans.find((s) => s.name.startsWith('process '));
        // (the relay's batch `send` span may end after the handler: a broker acknowledges after delivering)
        expect(spans.map((s) => s.name)).toEqual(
          expect.arrayContaining([`create ${token}.created`, `process ${token}.>`]),
        );
        expect(created?.spanContext().traceId).toBe(requestTraceId);
        expect(processed?.spanContext().traceId).toBe(requestTraceId);
        expect(handlerTraceId).toBe(requestTraceId);
        expect(processed?.parentSpanContext?.spanId).toBe(created?.spanContext().spanId);
        // the relay answers the same health probes as a bus
        expect(await readiness(relay)).toMatchObject({
          status: 200,
          body: { status: 'ok', backend: 'outbox' },
        });
        await relay.close();
        expect(await liveness(relay)).toMatchObject({ status: 503, body: { state: 'closed' } });
      } finally {
        await relay.close();
        await bus.close();
        instrumentation.disable();
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      }
    });
  }
});
