import {
  ConfigError,
  InvalidArgumentError,
  InvalidSubjectError,
  type Message,
  PayloadTooLargeError,
} from '@omnibus/core';
import { createMemoryBus } from '@omnibus/memory';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutbox, migrate, pgDatabase, SCHEMA_VERSION, startRelay } from '../src/index.js';
import { freshSchema, inTransaction, migratedSchema, pool, until } from './db.js';

let p: pg.Pool;
beforeAll(() => {
  p = pool();
});
afterAll(() => p.end());

async function unpublished(schema: string): Promise<number> {
  const { rows } = await p.query(
    `SELECT count(*)::int AS n FROM "${schema}".outbox WHERE published_at IS NULL`,
  );
  return rows[0].n;
}

describe('migrate', () => {
  it('creates the schema once, is idempotent and safe when run concurrently', async () => {
    const schema = freshSchema();
    try {
      const results = await Promise.all([1, 2, 3].map(() => migrate(pgDatabase(p), { schema })));
      expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, SCHEMA_VERSION]);
      expect(results.every((r) => r.version === SCHEMA_VERSION)).toBe(true);
      expect((await migrate(pgDatabase(p), { schema })).applied).toEqual([]);
      const { rows } = await p.query(`SELECT version FROM "${schema}".omnibus_migrations ORDER BY version`);
      expect(rows.map((r) => r.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    } finally {
      await p.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  });

  it('refuses a schema name that is not a plain identifier, before touching the database', async () => {
    for (const schema of ['Robert"; DROP TABLE x; --', 'a b', '', 'x'.repeat(49), '1abc', 'sch.ema']) {
      await expect(migrate(pgDatabase(p), { schema })).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(() => createOutbox({ schema })).toThrow(InvalidArgumentError);
    }
  });

  it('says to run migrate() when the tables are missing', async () => {
    const outbox = createOutbox({ schema: freshSchema() });
    const error = await inTransaction(p, (tx) => outbox.publish(tx, 'orders.created', 'x')).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.hint).toContain('migrate(');
  });
});

describe('outbox.publish and the relay', () => {
  it('publishes what a committed transaction wrote, byte-exact, with the row id as message id', async () => {
    const { schema, drop } = await migratedSchema(p);
    const bus = createMemoryBus();
    const got: Message[] = [];
    await bus.consume('orders.>', (m) => void got.push(m));
    const outbox = createOutbox({ schema });
    const payload = new Uint8Array([0, 255, 1, 128, 0]);
    const receipt = await inTransaction(p, async (tx) => {
      await tx.query('SELECT 1');
      return outbox.publish(tx, 'orders.zürich.创建', payload, { headers: { 'x-tenant': 'ácme' } });
    });
    const relay = await startRelay({ database: pgDatabase(p), bus, schema, pollIntervalMs: 50 });
    try {
      await until(() => got.length === 1, 'the message');
      expect(got[0]?.id).toBe(receipt.id);
      expect(got[0]?.subject).toBe('orders.zürich.创建');
      expect([...(got[0]?.payload ?? [])]).toEqual([...payload]);
      expect(got[0]?.headers['x-tenant']).toBe('ácme');
      // the row is marked once publishBatch resolved: the handler may run a moment before that
      await until(() => relay.stats().forwarded === 1, 'the row marked as forwarded');
      expect(await unpublished(schema)).toBe(0);
      expect(relay.stats().forwarded).toBe(1);
      expect(await relay.lag()).toEqual({ rows: 0, oldestAgeMs: 0, failed: 0 });
    } finally {
      await relay.close();
      await bus.close();
      await drop();
    }
  });

  it('publishes nothing a rolled-back transaction wrote', async () => {
    const { schema, drop } = await migratedSchema(p);
    const bus = createMemoryBus();
    const got: string[] = [];
    await bus.consume('orders.>', (m) => void got.push(m.text()));
    const outbox = createOutbox({ schema });
    await expect(
      inTransaction(p, async (tx) => {
        await outbox.publish(tx, 'orders.created', 'rolled back');
        throw new Error('the order could not be saved');
      }),
    ).rejects.toThrow('could not be saved');
    await inTransaction(p, (tx) => outbox.publish(tx, 'orders.created', 'committed'));
    const relay = await startRelay({ database: pgDatabase(p), bus, schema, pollIntervalMs: 50 });
    try {
      await relay.drain();
      await until(() => got.length >= 1, 'the committed message');
      expect(got).toEqual(['committed']);
    } finally {
      await relay.close();
      await bus.close();
      await drop();
    }
  });

  it('rejects bad input with a typed error and writes nothing, leaving the transaction usable', async () => {
    const { schema, drop } = await migratedSchema(p);
    const outbox = createOutbox({ schema, maxPayloadBytes: 1024 });
    try {
      await inTransaction(p, async (tx) => {
        await expect(outbox.publish(tx, 'orders.*', 'x')).rejects.toBeInstanceOf(InvalidSubjectError);
        await expect(outbox.publish(tx, 'orders.created', 'x'.repeat(1025))).rejects.toBeInstanceOf(
          PayloadTooLargeError,
        );
        await expect(
          outbox.publish(tx, 'orders.created', 'x', { headers: { 'x-a': 'nul\u0000' } }),
        ).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(outbox.publish(tx, 'orders.created', 'x', { id: '' })).rejects.toBeInstanceOf(
          InvalidArgumentError,
        );
        await expect(outbox.publish(tx, 'orders.created', 42 as never)).rejects.toBeInstanceOf(
          InvalidArgumentError,
        );
        await expect(
          outbox.publishBatch(tx, [
            { subject: 'orders.ok', payload: 'fine' },
            { subject: 'orders..bad', payload: 'x' },
          ]),
        ).rejects.toBeInstanceOf(InvalidSubjectError);
        await expect(outbox.publish({} as never, 'orders.created', 'x')).rejects.toBeInstanceOf(
          InvalidArgumentError,
        );
        await outbox.publish(tx, 'orders.created', 'the one good message');
      });
      const { rows } = await p.query(`SELECT convert_from(payload, 'UTF8') AS text FROM "${schema}".outbox`);
      expect(rows.map((r) => r.text)).toEqual(['the one good message']);
    } finally {
      await drop();
    }
  });

  it('never skips a transaction still open: rows wait behind it, then go in xid order', async () => {
    const { schema, drop } = await migratedSchema(p);
    const bus = createMemoryBus();
    const got: string[] = [];
    await bus.consume('orders.>', (m) => void got.push(m.text()));
    const outbox = createOutbox({ schema });
    const slow = await p.connect();
    const relay = await startRelay({ database: pgDatabase(p), bus, schema, pollIntervalMs: 20 });
    try {
      await slow.query('BEGIN');
      await outbox.publish(slow, 'orders.1', 'slow, first xid');
      await inTransaction(p, (tx) => outbox.publish(tx, 'orders.2', 'fast, committed first'));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(got).toEqual([]);
      expect((await relay.lag()).rows).toBe(1);
      await slow.query('COMMIT');
      await relay.drain();
      await until(() => got.length === 2, 'both messages');
      expect(got).toEqual(['slow, first xid', 'fast, committed first']);
    } finally {
      slow.release();
      await relay.close();
      await bus.close();
      await drop();
    }
  });

  it('keeps the order of transactions that lock the same row (commit order) and of writes in one transaction', async () => {
    const { schema, drop } = await migratedSchema(p);
    await p.query(`CREATE TABLE "${schema}".orders (id int PRIMARY KEY, status text)`);
    await p.query(`INSERT INTO "${schema}".orders VALUES (7, 'new')`);
    const bus = createMemoryBus();
    const got: string[] = [];
    await bus.consume('orders.>', (m) => void got.push(m.text()));
    const outbox = createOutbox({ schema });
    const a = await p.connect();
    const b = await p.connect();
    try {
      await a.query('BEGIN');
      await b.query('BEGIN');
      await a.query(`SELECT * FROM "${schema}".orders WHERE id = 7 FOR UPDATE`);
      const bLocked = b.query(`SELECT * FROM "${schema}".orders WHERE id = 7 FOR UPDATE`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await outbox.publishBatch(a, [
        { subject: 'orders.7.paid', payload: 'a1' },
        { subject: 'orders.7.shipped', payload: 'a2' },
      ]);
      await a.query('COMMIT');
      await bLocked;
      await outbox.publish(b, 'orders.7.delivered', 'b1');
      await b.query('COMMIT');
      const relay = await startRelay({ database: pgDatabase(p), bus, schema, pollIntervalMs: 20 });
      await relay.drain();
      await until(() => got.length === 3, 'three messages');
      expect(got).toEqual(['a1', 'a2', 'b1']);
      await relay.close();
    } finally {
      a.release();
      b.release();
      await bus.close();
      await drop();
    }
  });

  it('forwards a large batch in order, many rows per statement and per bus batch', async () => {
    const { schema, drop } = await migratedSchema(p);
    const bus = createMemoryBus();
    const got: number[] = [];
    await bus.consume('load.>', (m) => void got.push(Number(m.text())));
    const outbox = createOutbox({ schema });
    const entries = Array.from({ length: 2_500 }, (_, i) => ({
      subject: `load.s${i % 7}`,
      payload: String(i),
    }));
    await inTransaction(p, (tx) => outbox.publishBatch(tx, entries));
    const relay = await startRelay({
      database: pgDatabase(p),
      bus,
      schema,
      batchSize: 300,
      retention: 'delete',
    });
    try {
      await relay.drain();
      await until(() => got.length === 2_500, 'all 2,500');
      expect(got).toEqual(entries.map((_, i) => i));
      expect(relay.stats().batches).toBe(9);
      const { rows } = await p.query(`SELECT count(*)::int AS n FROM "${schema}".outbox`);
      expect(rows[0].n).toBe(0);
    } finally {
      await relay.close();
      await bus.close();
      await drop();
    }
  });

  it('wakes on NOTIFY: a commit is forwarded long before the next poll', async () => {
    const { schema, drop } = await migratedSchema(p);
    const bus = createMemoryBus();
    const got: string[] = [];
    await bus.consume('orders.>', (m) => void got.push(m.text()));
    const outbox = createOutbox({ schema });
    const relay = await startRelay({ database: pgDatabase(p), bus, schema, pollIntervalMs: 600_000 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200)); // the first pass found nothing and sleeps
      await inTransaction(p, (tx) => outbox.publish(tx, 'orders.created', 'woken'));
      await until(() => got.length === 1, 'the notified message', 10_000);
      expect(got).toEqual(['woken']);
    } finally {
      await relay.close();
      await bus.close();
      await drop();
    }
  });

  it('deletes marked rows after their retention', async () => {
    const { schema, drop } = await migratedSchema(p);
    const bus = createMemoryBus();
    const outbox = createOutbox({ schema });
    await inTransaction(p, (tx) => outbox.publish(tx, 'orders.created', 'x'));
    const relay = await startRelay({
      database: pgDatabase(p),
      bus,
      schema,
      pollIntervalMs: 20,
      retention: { keepPublishedForMs: 0 },
      cleanupIntervalMs: 1,
    });
    try {
      await relay.drain();
      await until(() => relay.stats().forwarded === 1, 'the forward');
      const count = async () =>
        (await p.query(`SELECT count(*)::int AS n FROM "${schema}".outbox`)).rows[0].n;
      const deadline = Date.now() + 10_000;
      while ((await count()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await count()).toBe(0);
    } finally {
      await relay.close();
      await bus.close();
      await drop();
    }
  });
});
