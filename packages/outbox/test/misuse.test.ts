// What users get wrong, and what the relay meets in production: each answered with a typed error
// and nothing half-done, or handled without stopping the rows behind.
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  BusClosedError,
  ConfigError,
  ConnectionError,
  InvalidArgumentError,
  intercept,
  TimeoutError,
} from '@omnibus/core';
import { createMemoryBus } from '@omnibus/memory';
import type pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createInbox,
  createOutbox,
  migrate,
  pgDatabase,
  startRelay,
  TransactionRolledBackError,
} from '../src/index.js';
import { inTransaction, migratedSchema, PG_URL, pool, until } from './db.js';

let p: pg.Pool;
beforeAll(() => {
  p = pool();
});
afterAll(() => p.end());
const quiet = { warn() {} };

describe('misuse and hard cases', () => {
  it('a transaction PostgreSQL rolled back at COMMIT (a caught failed statement) rejects; the inbox does not count it', async () => {
    const { schema, drop } = await migratedSchema(p);
    await p.query(`CREATE TABLE "${schema}".effects (n int)`);
    const database = pgDatabase<pg.PoolClient>(p);
    try {
      const error = await database
        .transaction(async (tx) => {
          await tx.query(`INSERT INTO "${schema}".effects VALUES (1)`);
          await tx.query('SELECT 1/0').catch(() => undefined); // caught: the transaction is aborted anyway
        })
        .catch((e) => e);
      expect(error).toBeInstanceOf(TransactionRolledBackError);
      expect(error.code).toBe('ROLLED_BACK');
      const inbox = createInbox({ database, consumer: 'c', schema });
      const handle = inbox.handle(async (_message, tx) => {
        await tx.query(`INSERT INTO "${schema}".effects VALUES (2)`);
        await tx.query(`INSERT INTO "${schema}".effects VALUES ('not a number')`).catch(() => undefined);
      });
      await expect(handle({ id: 'm1', subject: 'a.b' } as never)).rejects.toBeInstanceOf(
        TransactionRolledBackError,
      );
      expect(inbox.stats()).toEqual({ processed: 0, duplicates: 0, failed: 0 });
      const { rows } = await p.query(`SELECT count(*)::int AS n FROM "${schema}".inbox`);
      expect(rows[0].n).toBe(0); // a redelivery will run the handler again
    } finally {
      await drop();
    }
  });

  it('refuses a pool or a postgres.js root sql as the transaction (each statement would commit alone)', async () => {
    const { schema, drop } = await migratedSchema(p);
    const outbox = createOutbox({ schema });
    const sql = postgres(PG_URL, { max: 1, onnotice: () => undefined });
    try {
      await expect(outbox.publish(p as never, 'orders.created', 'x')).rejects.toThrow('connection pool');
      await expect(outbox.publish(sql as never, 'orders.created', 'x')).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
      const { rows } = await p.query(`SELECT count(*)::int AS n FROM "${schema}".outbox`);
      expect(rows[0].n).toBe(0);
    } finally {
      await sql.end();
      await drop();
    }
  });

  it('refuses a lone surrogate before writing, and the transaction stays usable', async () => {
    const { schema, drop } = await migratedSchema(p);
    const outbox = createOutbox({ schema });
    try {
      await inTransaction(p, async (tx) => {
        await expect(
          outbox.publish(tx, 'orders.created', 'x', { headers: { 'x-a': 'cut \ud83d' } }),
        ).rejects.toThrow('surrogate');
        await expect(outbox.publish(tx, 'orders.\udc00x', 'x')).rejects.toBeInstanceOf(InvalidArgumentError);
        await outbox.publish(tx, 'orders.🚀', 'whole emoji is fine');
      });
      const { rows } = await p.query(`SELECT subject FROM "${schema}".outbox`);
      expect(rows.map((r) => r.subject)).toEqual(['orders.🚀']);
    } finally {
      await drop();
    }
  });

  it('a row the bus refuses for good is set aside; the rows behind it go on; retryFailed puts it back', async () => {
    const { schema, drop } = await migratedSchema(p);
    const bus = createMemoryBus({ maxPayloadBytes: 64 });
    const got: string[] = [];
    await bus.consume('orders.>', (m) => void got.push(m.text()));
    const outbox = createOutbox({ schema }); // allows 1 MiB: more than this bus
    const statuses: string[] = [];
    await inTransaction(p, (tx) =>
      outbox.publishBatch(tx, [
        { subject: 'orders.a', payload: 'first' },
        { subject: 'orders.b', payload: 'x'.repeat(100) },
        { subject: 'orders.c', payload: 'third' },
      ]),
    );
    const relay = await startRelay({
      database: pgDatabase(p),
      bus,
      schema,
      pollIntervalMs: 20,
      logger: quiet,
      onStatus: (s) => statuses.push(s.type),
    });
    try {
      await relay.drain();
      await until(() => got.length === 2, 'the two good rows');
      expect(got).toEqual(['first', 'third']);
      expect(relay.stats()).toMatchObject({ forwarded: 2, refused: 1 });
      expect(await relay.lag()).toMatchObject({ rows: 0, failed: 1 });
      expect(statuses).toContain('relay-refused');
      const { rows } = await p.query(`SELECT error FROM "${schema}".outbox WHERE failed_at IS NOT NULL`);
      expect(rows[0].error).toContain('payload');
      expect(await relay.retryFailed()).toBe(1);
      await until(() => relay.stats().refused === 2, 'refused again (the bus did not change)');
      expect((await relay.health()).ok).toBe(true);
    } finally {
      await relay.close();
      await bus.close();
      await drop();
    }
  });

  it('notifications do not cut the back-off short while the bus fails', async () => {
    const { schema, drop } = await migratedSchema(p);
    const bus = createMemoryBus();
    let attempts = 0;
    intercept(bus, {
      async publish() {
        attempts += 1;
        throw new Error('broker away');
      },
    });
    const outbox = createOutbox({ schema });
    const relay = await startRelay({
      database: pgDatabase(p),
      bus,
      schema,
      maxRetryDelayMs: 400,
      logger: quiet,
    });
    try {
      const started = Date.now();
      while (Date.now() - started < 2_000) {
        await inTransaction(p, (tx) => outbox.publish(tx, 'orders.created', 'x')); // a NOTIFY each
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      // 100, 200, 400, 400, 400… ms: about 7 passes in 2 s, not one per notification (~150)
      expect(attempts).toBeGreaterThanOrEqual(3);
      expect(attempts).toBeLessThanOrEqual(12);
    } finally {
      await relay.close();
      await bus.close();
      await drop();
    }
  });

  it('drain: TimeoutError naming the cause while an older transaction is open; BusClosedError after close', async () => {
    const { schema, drop } = await migratedSchema(p);
    const bus = createMemoryBus();
    const outbox = createOutbox({ schema });
    const relay = await startRelay({ database: pgDatabase(p), bus, schema, pollIntervalMs: 20 });
    const open = await p.connect();
    try {
      await open.query('BEGIN');
      await open.query('SELECT pg_current_xact_id()'); // an unrelated transaction with an id
      await inTransaction(p, (tx) => outbox.publish(tx, 'orders.created', 'held back'));
      const error = await relay.drain(1_000).catch((e) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error.message).toContain('1 row still waiting after 1000 ms');
      expect(error.hint).toContain('open transaction');
      await open.query('COMMIT');
      await relay.drain();
      await relay.close();
      await expect(relay.drain()).rejects.toBeInstanceOf(BusClosedError);
    } finally {
      open.release();
      await relay.close();
      await bus.close();
      await drop();
    }
  });

  it("the relay's loop does not run in the caller's async context", async () => {
    const { schema, drop } = await migratedSchema(p);
    const bus = createMemoryBus();
    const store = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    intercept(bus, {
      publish(_call, next) {
        seen.push(store.getStore());
        return next();
      },
    });
    const outbox = createOutbox({ schema });
    await inTransaction(p, (tx) => outbox.publish(tx, 'orders.created', 'x'));
    const relay = await store.run('the caller (a request, a startup span)', () =>
      startRelay({ database: pgDatabase(p), bus, schema, pollIntervalMs: 20 }),
    );
    try {
      await relay.drain();
      await until(() => seen.length === 1, 'the forward');
      expect(seen).toEqual([undefined]);
    } finally {
      await relay.close();
      await bus.close();
      await drop();
    }
  });

  it('timings past what a timer or PostgreSQL can hold, and waits that are no number, are refused', async () => {
    const bus = createMemoryBus();
    const database = pgDatabase(p);
    for (const bad of [
      { pollIntervalMs: 3e9 },
      { maxRetryDelayMs: 2 ** 31 },
      { passTimeoutMs: 3e9 },
      { batchSize: 1e6 },
    ])
      await expect(startRelay({ database, bus, ...bad })).rejects.toBeInstanceOf(InvalidArgumentError);
    const { schema, drop } = await migratedSchema(p);
    const relay = await startRelay({ database, bus, schema, logger: quiet });
    try {
      await expect(relay.drain(Number.NaN)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(relay.health(-1)).rejects.toBeInstanceOf(InvalidArgumentError);
    } finally {
      await relay.close();
      await bus.close();
      await drop();
    }
  });

  it('drain() keeps its timeout while a lock holds the outbox table', async () => {
    const { schema, drop } = await migratedSchema(p);
    const bus = createMemoryBus();
    const relay = await startRelay({
      database: pgDatabase(p),
      bus,
      schema,
      pollIntervalMs: 20,
      logger: quiet,
    });
    const locker = await p.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${schema}".outbox IN ACCESS EXCLUSIVE MODE`);
      const started = Date.now();
      const error = await relay.drain(500).catch((e) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
      await relay.close();
      await bus.close();
      await drop();
    }
  });

  it('a pool with no connection to spare: the relay says so, and close() still ends', async () => {
    const { schema, drop } = await migratedSchema(p);
    const bus = createMemoryBus();
    const small = pool(PG_URL, 1); // LISTEN takes the only connection
    const warnings: string[] = [];
    const relay = await startRelay({
      database: pgDatabase(small),
      bus,
      schema,
      pollIntervalMs: 20,
      passTimeoutMs: 300,
      logger: { warn: (m: string) => void warnings.push(m) },
    });
    try {
      await until(() => relay.stats().errors > 0, 'the wait reported', 5_000);
      expect(warnings.join('\n')).toContain('waited 300 ms for a database connection');
      const health = await relay.health(200);
      expect(health.ok).toBe(false);
      const started = Date.now();
      await relay.close();
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await relay.close();
      await bus.close();
      await small.end();
      await drop();
    }
  });

  it('a refused login is a ConfigError without the password', async () => {
    const url = new URL(PG_URL);
    url.username = 'omnibus_no_such_role';
    url.password = 'pw-s3cret';
    const wrong = pool(url.href, 1);
    const error = await migrate(pgDatabase(wrong), { schema: 'anything' }).catch((e) => e);
    await wrong.end();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('refused the login');
    expect(String(error.message)).not.toContain('pw-s3cret');
  });

  it('typed errors for bad options, a reserved schema and an unreachable database', async () => {
    const bus = createMemoryBus();
    await expect(
      startRelay({
        database: pgDatabase(p),
        bus,
        retention: { keepPublishedForMs: Number.POSITIVE_INFINITY },
      }),
    ).rejects.toThrow('retention');
    expect(() => createOutbox({ schema: 'pg_temp' })).toThrow(InvalidArgumentError);
    const away = pool('postgres://postgres:pw-s3cret@127.0.0.1:1/test', 1);
    const error = await migrate(pgDatabase(away), { schema: 'anything' }).catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(String(error.message)).not.toContain('pw-s3cret');
    await away.end();
    await bus.close();
  });
});
