import { createMemoryBus } from '@omnibus/memory';
import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutbox, pgDatabase, postgresDatabase, type SqlClient, startRelay } from '../src/index.js';
import { migratedSchema, PG_URL, pool, until } from './db.js';

let p: pg.Pool;
beforeAll(() => {
  p = pool();
});
afterAll(() => p.end());

describe('the common PostgreSQL clients', () => {
  it('postgres.js: publish in sql.begin, relay on postgresDatabase(sql) with LISTEN', async () => {
    const { schema, drop } = await migratedSchema(p);
    const sql = postgres(PG_URL, { max: 4, onnotice: () => undefined });
    const bus = createMemoryBus();
    const got: string[] = [];
    await bus.consume('orders.>', (m) => void got.push(`${m.subject} ${m.text()} ${m.headers['x-n']}`));
    const outbox = createOutbox({ schema });
    const relay = await startRelay({ database: postgresDatabase(sql), bus, schema, pollIntervalMs: 600_000 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await sql.begin(async (tx) => {
        await outbox.publish(tx, 'orders.eu.created', 'één', { headers: { 'x-n': '1' } });
        await outbox.publishBatch(tx, [
          { subject: 'orders.eu.paid', payload: new Uint8Array([104, 105]), headers: { 'x-n': '2' } },
        ]);
      });
      await until(() => got.length === 2, 'both messages (woken by NOTIFY)');
      expect(got).toEqual(['orders.eu.created één 1', 'orders.eu.paid hi 2']);
      await sql
        .begin(async (tx) => {
          await outbox.publish(tx, 'orders.eu.created', 'rolled back');
          throw new Error('no');
        })
        .catch(() => undefined);
      await relay.drain();
      expect(got).toHaveLength(2);
    } finally {
      await relay.close();
      await bus.close();
      await sql.end();
      await drop();
    }
  });

  it('Kysely: a transaction passed as { query } through CompiledQuery.raw', async () => {
    const { schema, drop } = await migratedSchema(p);
    const db = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool: p }) });
    const bus = createMemoryBus();
    const got: string[] = [];
    await bus.consume('orders.>', (m) => void got.push(m.text()));
    const outbox = createOutbox({ schema });
    await db.transaction().execute(async (trx) => {
      const tx: SqlClient = {
        query: (text, params = []) => trx.executeQuery(CompiledQuery.raw(text, [...params])),
      };
      await trx.executeQuery(CompiledQuery.raw(`CREATE TABLE "${schema}".orders (id int)`, []));
      await trx.executeQuery(CompiledQuery.raw(`INSERT INTO "${schema}".orders VALUES (1)`, []));
      await outbox.publish(tx, 'orders.created', 'from kysely');
    });
    const relay = await startRelay({ database: pgDatabase(p), bus, schema, pollIntervalMs: 20 });
    try {
      await relay.drain();
      await until(() => got.length === 1, 'the message');
      expect(got).toEqual(['from kysely']);
    } finally {
      await relay.close();
      await bus.close();
      await drop();
    }
  });
});
