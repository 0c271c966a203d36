import { type EventBus, intercept } from '@omnibus/core';
import { createMemoryBus } from '@omnibus/memory';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutbox, pgDatabase, type RelayStatus, startRelay } from '../src/index.js';
import { inTransaction, migratedSchema, pool, until } from './db.js';

let p: pg.Pool;
beforeAll(() => {
  p = pool();
});
afterAll(() => p.end());

const quiet = { warn() {} };

describe('relay', () => {
  it('two relays on one schema take turns: every row once, in order', async () => {
    const { schema, drop } = await migratedSchema(p);
    const bus = createMemoryBus();
    const got: number[] = [];
    await bus.consume('race.>', (m) => void got.push(Number(m.text())));
    const outbox = createOutbox({ schema });
    const p2 = pool();
    const statuses: RelayStatus[] = [];
    const relays = await Promise.all([
      startRelay({ database: pgDatabase(p), bus, schema, batchSize: 10, pollIntervalMs: 5 }),
      startRelay({
        database: pgDatabase(p2),
        bus,
        schema,
        batchSize: 10,
        pollIntervalMs: 5,
        onStatus: (s) => statuses.push(s),
      }),
    ]);
    try {
      for (let t = 0; t < 40; t++) {
        await inTransaction(p, (tx) =>
          outbox.publishBatch(
            tx,
            Array.from({ length: 5 }, (_, i) => ({ subject: `race.s${i}`, payload: String(t * 5 + i) })),
          ),
        );
      }
      await relays[0]?.drain();
      await until(() => got.length >= 200, 'all 200');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i));
      const total = (relays[0]?.stats().forwarded ?? 0) + (relays[1]?.stats().forwarded ?? 0);
      expect(total).toBe(200);
    } finally {
      await Promise.all(relays.map((r) => r.close()));
      await bus.close();
      await p2.end();
      await drop();
    }
  });

  it('keeps the rows when the bus refuses them, reports it, and forwards them once the bus works', async () => {
    const { schema, drop } = await migratedSchema(p);
    const bus = createMemoryBus();
    let refuse = true;
    intercept(bus, {
      async publish(_call, next) {
        if (refuse) throw new Error('broker away');
        return next();
      },
    });
    const got: string[] = [];
    await bus.consume('orders.>', (m) => void got.push(m.text()));
    const outbox = createOutbox({ schema });
    const statuses: RelayStatus[] = [];
    await inTransaction(p, (tx) => outbox.publish(tx, 'orders.created', 'kept'));
    const relay = await startRelay({
      database: pgDatabase(p),
      bus,
      schema,
      pollIntervalMs: 10,
      maxRetryDelayMs: 50,
      logger: quiet,
      onStatus: (s) => statuses.push(s),
    });
    try {
      await until(() => relay.stats().errors >= 2, 'failed passes');
      const health = await relay.health();
      // the database is fine: not a lost connection, but not ok either
      expect(health).toMatchObject({ ok: false, backend: 'outbox', state: 'open', connectionLost: false });
      expect(health.detail).toContain('nothing was sent');
      expect((await relay.lag()).rows).toBe(1);
      expect(got).toEqual([]);
      refuse = false;
      await relay.drain();
      await until(() => got.length === 1, 'the kept message');
      expect(got).toEqual(['kept']);
      expect(statuses.map((s) => s.type)).toContain('relay-recovered');
      expect((await relay.health()).ok).toBe(true);
    } finally {
      await relay.close();
      await bus.close();
      await drop();
    }
  });

  it('never shows a database password in health, status or logs', async () => {
    const secret = 'hunter2-s3cret';
    const broken = pool(`postgres://postgres:${secret}@127.0.0.1:1/test`, 1);
    const logs: string[] = [];
    const statuses: RelayStatus[] = [];
    const bus: EventBus = createMemoryBus();
    const relay = await startRelay({
      database: pgDatabase(broken),
      bus,
      pollIntervalMs: 10,
      maxRetryDelayMs: 20,
      logger: { warn: (m) => logs.push(m) },
      onStatus: (s) => statuses.push(s),
    });
    try {
      await until(() => relay.stats().errors >= 2, 'failed passes');
      const health = await relay.health(500);
      expect(health.ok).toBe(false);
      const seen = JSON.stringify({ health, logs, statuses, stats: relay.stats() });
      expect(seen).not.toContain(secret);
      expect(logs.length).toBeGreaterThan(0);
      const lagError = await relay.lag().catch((e: Error) => e);
      expect(lagError).toBeInstanceOf(Error);
      expect(String((lagError as Error).message)).not.toContain(secret);
    } finally {
      await relay.close();
      await bus.close();
      await broken.end();
    }
  });

  it('close() in the middle of a pass lets it finish; the relay then refuses to drain', async () => {
    const { schema, drop } = await migratedSchema(p);
    const bus = createMemoryBus();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered = false;
    intercept(bus, {
      async publish(_call, next) {
        entered = true;
        await gate;
        return next();
      },
    });
    const outbox = createOutbox({ schema });
    await inTransaction(p, (tx) => outbox.publish(tx, 'orders.created', 'x'));
    const relay = await startRelay({ database: pgDatabase(p), bus, schema, pollIntervalMs: 10 });
    try {
      await until(() => entered, 'the pass to reach the bus');
      const closing = relay.close();
      release();
      await closing;
      expect(relay.stats().forwarded).toBe(1);
      const { rows } = await p.query(
        `SELECT count(*)::int AS n FROM "${schema}".outbox WHERE published_at IS NULL`,
      );
      expect(rows[0].n).toBe(0);
      await expect(relay.drain(100)).rejects.toThrow('closed');
      expect((await relay.health()).ok).toBe(false);
    } finally {
      await bus.close();
      await drop();
    }
  });

  it('rejects bad options with typed errors', async () => {
    const bus = createMemoryBus();
    const database = pgDatabase(p);
    await expect(startRelay({ database, bus, batchSize: 0 })).rejects.toThrow('batchSize');
    await expect(startRelay({ database, bus, pollIntervalMs: -1 })).rejects.toThrow('pollIntervalMs');
    await expect(
      startRelay({ database, bus, retention: { keepPublishedForMs: Number.NaN } }),
    ).rejects.toThrow('retention');
    await expect(startRelay({ database: {} as never, bus })).rejects.toThrow('OutboxDatabase');
    await expect(startRelay({ database, bus: {} as never })).rejects.toThrow('EventBus');
    await expect(startRelay({ database, bus, schema: 'x-y' })).rejects.toThrow('schema');
    await bus.close();
  });
});
