// Fault scenarios of the outbox, each counting lost messages and duplicate effects, on NATS
// (durable, with dedupe) and real PostgreSQL: a relay SIGKILLed between commit and forward and
// between forward and mark, the database crashed and restarted under load, two relays racing,
// rolled-back transactions, and handlers failing after their writes (inbox). Figures go to
// reports/outbox.json and (through the faults suite) docs/reliability.md.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventBus, Message } from '@omnibus/core';
import { createNatsBus } from '@omnibus/nats';
import { startLocalPostgres } from '@omnibus/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInbox, createOutbox, migrate, pgDatabase, startRelay } from '../src/index.js';
import { migratedSchema, PG_URL, pool, until } from './db.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const here = dirname(fileURLToPath(import.meta.url));
const quiet = { warn() {} };

/** One row of reports/outbox.json. */
interface FaultRow {
  scenario: string;
  /** Messages whose transaction committed (the caller saw COMMIT succeed). */
  committed: number;
  /** Distinct committed messages the consumer got. */
  delivered: number;
  lost: number;
  /** Deliveries beyond the first of a message (at-least-once at work). */
  duplicateDeliveries: number;
  /** Handler effects beyond the first of a message, with the inbox. */
  duplicateEffects: number;
  /** Messages of rolled-back transactions that reached the consumer. */
  publishedFromRolledBack: number;
  /** Order breaches per subject (a later message of a subject delivered first, first deliveries only). */
  orderBreaches: number;
  detail: string;
  passed: boolean;
}
const rows: FaultRow[] = [];

function record(row: Omit<FaultRow, 'passed' | 'lost'> & { lost?: number }): FaultRow {
  const lost = row.lost ?? row.committed - row.delivered;
  const done: FaultRow = {
    ...row,
    lost,
    passed:
      lost === 0 &&
      row.duplicateEffects === 0 &&
      row.publishedFromRolledBack === 0 &&
      row.orderBreaches === 0,
  };
  rows.push(done);
  return done;
}

let p: pg.Pool;
let bus: EventBus;
beforeAll(async () => {
  p = pool();
  bus = await createNatsBus({ url: NATS_URL, logger: quiet });
});
afterAll(async () => {
  await bus?.close();
  await p?.end();
  const root = resolve(here, '..', '..', '..');
  const dir = process.env.OMNIBUS_REPORT_DIR
    ? resolve(process.env.OMNIBUS_REPORT_DIR)
    : join(root, 'reports');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'outbox.json'),
    `${JSON.stringify({ backend: 'nats', database: 'postgresql', generatedAt: new Date().toISOString(), rows }, null, 2)}\n`,
  );
});

/** A consumer group on `<token>.>` with the inbox; counts deliveries and effects per message id. */
async function countingConsumer(database: pg.Pool, schema: string, token: string, failFirstAttempt = false) {
  await database.query(`CREATE TABLE IF NOT EXISTS "${schema}".effects (message_id text NOT NULL)`);
  const inbox = createInbox({ database: pgDatabase(database), consumer: 'faults', schema });
  const deliveries = new Map<string, number>();
  const firstOrder: { id: string; subject: string; seq: number }[] = [];
  const consumer = await bus.consume(
    `${token}.>`,
    inbox.handle(async (message: Message, tx) => {
      await tx.query(`INSERT INTO "${schema}".effects VALUES ($1)`, [message.id]);
      if (failFirstAttempt && message.attempt === 1) throw new Error('failed after its write');
    }),
    { group: `faults-${token}`, maxAttempts: 100, backoff: 50, maxInFlight: 1 },
  );
  const seen = await bus.consume(
    `${token}.>`,
    (message) => {
      const n = (deliveries.get(message.id) ?? 0) + 1;
      deliveries.set(message.id, n);
      if (n === 1) firstOrder.push({ id: message.id, subject: message.subject, seq: Number(message.text()) });
    },
    { group: `seen-${token}`, maxInFlight: 1 },
  );
  return {
    deliveries,
    /** The effects once `expected` distinct messages had theirs (or after 30 s), and 300 ms more for stragglers. */
    async effects(expected = 0): Promise<{ total: number; distinct: number }> {
      const read = async () => {
        const { rows: r } = await database.query(
          `SELECT count(*)::int AS total, count(DISTINCT message_id)::int AS distinct FROM "${schema}".effects`,
        );
        return { total: r[0].total as number, distinct: r[0].distinct as number };
      };
      const deadline = Date.now() + 30_000;
      while ((await read()).distinct < expected && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      return read();
    },
    orderBreaches(): number {
      const last = new Map<string, number>();
      let breaches = 0;
      for (const { subject, seq } of firstOrder) {
        if ((last.get(subject) ?? -1) > seq) breaches += 1;
        last.set(subject, seq);
      }
      return breaches;
    },
    async close() {
      await consumer.close();
      await seen.close();
    },
  };
}

/** Commits `transactions` transactions of `perTransaction` rows on `<token>.s<n % 5>`; returns the ids. */
async function commitRows(
  database: pg.Pool,
  schema: string,
  token: string,
  transactions: number,
  perTransaction: number,
) {
  const outbox = createOutbox({ schema });
  const ids: string[] = [];
  let seq = 0;
  for (let t = 0; t < transactions; t++) {
    const entries = Array.from({ length: perTransaction }, () => {
      const n = seq++;
      return { subject: `${token}.s${n % 5}`, payload: String(n) };
    });
    const receipts = await pgDatabase(database).transaction((tx) => outbox.publishBatch(tx, entries));
    ids.push(...receipts.map((r) => r.id));
  }
  return ids;
}

const token = () => `obx${randomBytes(4).toString('hex')}`;

describe('outbox faults (NATS, PostgreSQL)', () => {
  for (const phase of ['before-send', 'after-send'] as const) {
    it(`relay SIGKILLed ${phase === 'before-send' ? 'between commit and forward' : 'between forward and mark'}: 0 lost, 0 duplicate effects`, async () => {
      const { schema, drop } = await migratedSchema(p);
      const t = token();
      const consumer = await countingConsumer(p, schema, t);
      const ids = await commitRows(p, schema, t, 50, 10);
      const child = fork(join(here, 'fixtures', 'relay-process.mjs'), [], {
        env: { ...process.env, PG_URL, NATS_URL, SCHEMA: schema, HANG_PHASE: phase, HANG_AT_BATCH: '4' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        await new Promise<void>((resolve, reject) => {
          child.on('message', (m: { hanging?: string }) => m.hanging && resolve());
          child.once('exit', (code) =>
            reject(new Error(`the relay process exited (${code}) before hanging`)),
          );
        });
        child.kill('SIGKILL');
        await exited;
        const { rows: before } = await p.query(
          `SELECT count(*)::int AS n FROM "${schema}".outbox WHERE published_at IS NULL`,
        );
        const relay = await startRelay({
          database: pgDatabase(p),
          bus,
          schema,
          pollIntervalMs: 20,
          logger: quiet,
        });
        await relay.drain();
        await until(() => ids.every((id) => consumer.deliveries.has(id)), 'every committed message', 30_000);
        await relay.close();
        const effects = await consumer.effects(ids.length);
        const deliveries = [...consumer.deliveries.values()].reduce((a, b) => a + b, 0);
        const row = record({
          scenario: `relay SIGKILLed ${phase === 'before-send' ? 'between commit and forward' : 'between forward and mark'}`,
          committed: ids.length,
          delivered: ids.filter((id) => consumer.deliveries.has(id)).length,
          duplicateDeliveries: deliveries - consumer.deliveries.size,
          duplicateEffects: effects.total - effects.distinct,
          publishedFromRolledBack: 0,
          orderBreaches: consumer.orderBreaches(),
          detail: `killed on its 4th batch of 50, ${before[0].n} rows left unmarked; a new relay forwarded them (re-forwards keep the row id: NATS dedupe absorbs them)`,
        });
        expect(row).toMatchObject({ lost: 0, duplicateEffects: 0, orderBreaches: 0 });
        expect(effects.distinct).toBe(ids.length);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await consumer.close();
        await drop();
      }
    });
  }

  it('consumer SIGKILLed between its commit and its ack (inbox): redelivered, 0 duplicate effects', async () => {
    const { schema, drop } = await migratedSchema(p);
    const t = token();
    await p.query(`CREATE TABLE "${schema}".effects (message_id text NOT NULL)`);
    const child = fork(join(here, 'fixtures', 'consumer-process.mjs'), [], {
      env: { ...process.env, PG_URL, NATS_URL, SCHEMA: schema, TOKEN: t, HANG_AFTER: '100' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let started: () => void = () => undefined;
    let hanging: () => void = () => undefined;
    const isStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const isHanging = new Promise<void>((resolve) => {
      hanging = resolve;
    });
    child.on('message', (m: { started?: boolean; hanging?: string }) => {
      if (m.started) started();
      if (m.hanging) hanging();
    });
    const relay = await startRelay({
      database: pgDatabase(p),
      bus,
      schema,
      pollIntervalMs: 10,
      logger: quiet,
    });
    let consumer: Awaited<ReturnType<typeof bus.consume>> | undefined;
    try {
      await isStarted;
      const ids = await commitRows(p, schema, t, 30, 10);
      await isHanging;
      child.kill('SIGKILL');
      await exited;
      const inbox = createInbox({ database: pgDatabase(p), consumer: 'faults', schema });
      consumer = await bus.consume(
        `${t}.>`,
        inbox.handle(async (message, tx) => {
          await tx.query(`INSERT INTO "${schema}".effects VALUES ($1)`, [message.id]);
        }),
        { group: `faults-${t}`, ackTimeoutMs: 1_000, maxInFlight: 4 },
      );
      const count = async () =>
        (
          await p.query(
            `SELECT count(*)::int AS total, count(DISTINCT message_id)::int AS distinct FROM "${schema}".effects`,
          )
        ).rows[0] as { total: number; distinct: number };
      const deadline = Date.now() + 30_000;
      while ((await count()).distinct < ids.length && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      await until(
        () => inbox.stats().duplicates >= 1,
        'the redelivery of the committed, unacknowledged message',
        15_000,
      );
      const effects = await count();
      const row = record({
        scenario: 'consumer SIGKILLed between its commit and its ack (inbox)',
        committed: ids.length,
        delivered: effects.distinct,
        duplicateDeliveries: inbox.stats().duplicates,
        duplicateEffects: effects.total - effects.distinct,
        publishedFromRolledBack: 0,
        orderBreaches: 0,
        detail: `killed after 100 handled (the 100th committed, not acknowledged); NATS redelivered after the ack wait; the inbox recognised ${inbox.stats().duplicates} deliveries as done`,
      });
      expect(row).toMatchObject({ lost: 0, duplicateEffects: 0 });
      expect(row.duplicateDeliveries).toBeGreaterThanOrEqual(1);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await consumer?.close();
      await relay.close();
      await drop();
    }
  });

  it('database crashed (immediate stop) and restarted under load: 0 lost acknowledged, 0 duplicate effects', async () => {
    const server = await startLocalPostgres();
    const db = pool(server.url, 8);
    const schema = 'faults';
    const t = token();
    try {
      await migrate(pgDatabase(db), { schema });
      const consumer = await countingConsumer(db, schema, t);
      const relay = await startRelay({
        database: pgDatabase(db),
        bus,
        schema,
        pollIntervalMs: 20,
        maxRetryDelayMs: 200,
        logger: quiet,
      });
      const outbox = createOutbox({ schema });
      const committed: string[] = [];
      const unknown: string[] = [];
      let seq = 0;
      let writing = true;
      const writer = async (w: number) => {
        while (writing) {
          // a subject per writer: each writer commits in order, so its subject's order is defined
          const entries = Array.from({ length: 5 }, () => {
            const n = seq++;
            return { subject: `${t}.w${w}`, payload: String(n), id: `${t}-${n}` };
          });
          try {
            await pgDatabase(db).transaction((tx) => outbox.publishBatch(tx, entries));
            committed.push(...entries.map((e) => e.id));
          } catch {
            unknown.push(...entries.map((e) => e.id)); // the commit may or may not have happened
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      };
      const writers = [writer(0), writer(1), writer(2)];
      await until(() => committed.length >= 300, 'load before the crash', 20_000);
      await server.stop('immediate');
      await new Promise((resolve) => setTimeout(resolve, 500));
      await server.start();
      const restartedAt = committed.length;
      await until(() => committed.length >= restartedAt + 300, 'load after the restart', 30_000);
      writing = false;
      await Promise.all(writers);
      await relay.drain(30_000);
      await until(
        () => committed.every((id) => consumer.deliveries.has(id)),
        'every committed message',
        30_000,
      );
      await relay.close();
      const effects = await consumer.effects(committed.length);
      const deliveries = [...consumer.deliveries.values()].reduce((a, b) => a + b, 0);
      const row = record({
        scenario: 'database crashed and restarted under load',
        committed: committed.length,
        delivered: committed.filter((id) => consumer.deliveries.has(id)).length,
        duplicateDeliveries: deliveries - consumer.deliveries.size,
        duplicateEffects: effects.total - effects.distinct,
        publishedFromRolledBack: 0,
        orderBreaches: consumer.orderBreaches(),
        detail: `3 writers; PostgreSQL stopped with SIGQUIT (crash recovery at restart) after ${restartedAt} commits; ${unknown.length} messages of commits whose outcome the writer could not know (${unknown.filter((id) => consumer.deliveries.has(id)).length} of them delivered); relay errors ${relay.stats().errors}`,
      });
      await consumer.close();
      expect(row).toMatchObject({ lost: 0, duplicateEffects: 0, orderBreaches: 0 });
    } finally {
      await db.end();
      await server.dispose();
    }
  });

  it('two relays racing under concurrent writers: 0 lost, order kept, 0 duplicate effects', async () => {
    const { schema, drop } = await migratedSchema(p);
    const t = token();
    const consumer = await countingConsumer(p, schema, t);
    const second = pool();
    const relays = await Promise.all([
      startRelay({ database: pgDatabase(p), bus, schema, batchSize: 20, pollIntervalMs: 5, logger: quiet }),
      startRelay({
        database: pgDatabase(second),
        bus,
        schema,
        batchSize: 20,
        pollIntervalMs: 5,
        logger: quiet,
      }),
    ]);
    try {
      const ids = (await Promise.all([commitRows(p, schema, t, 40, 5)])).flat();
      await relays[0]?.drain();
      await until(() => ids.every((id) => consumer.deliveries.has(id)), 'every message', 30_000);
      const effects = await consumer.effects(ids.length);
      const deliveries = [...consumer.deliveries.values()].reduce((a, b) => a + b, 0);
      const forwarded = relays.map((r) => r.stats().forwarded);
      const row = record({
        scenario: 'two relays racing',
        committed: ids.length,
        delivered: ids.filter((id) => consumer.deliveries.has(id)).length,
        duplicateDeliveries: deliveries - consumer.deliveries.size,
        duplicateEffects: effects.total - effects.distinct,
        publishedFromRolledBack: 0,
        orderBreaches: consumer.orderBreaches(),
        detail: `forwarded ${forwarded.join(' + ')} (the advisory lock lets one relay forward at a time)`,
      });
      expect(row).toMatchObject({ lost: 0, duplicateEffects: 0, orderBreaches: 0, duplicateDeliveries: 0 });
      expect(forwarded.reduce((a, b) => a + b, 0)).toBe(ids.length);
    } finally {
      await Promise.all(relays.map((r) => r.close()));
      await second.end();
      await consumer.close();
      await drop();
    }
  });

  it('transactions rolled back after writing: 0 published from them', async () => {
    const { schema, drop } = await migratedSchema(p);
    const t = token();
    const consumer = await countingConsumer(p, schema, t);
    const outbox = createOutbox({ schema });
    const relay = await startRelay({
      database: pgDatabase(p),
      bus,
      schema,
      pollIntervalMs: 10,
      logger: quiet,
    });
    try {
      const committed: string[] = [];
      const rolledBack: string[] = [];
      for (let i = 0; i < 200; i++) {
        const id = `${t}-${i}`;
        const keep = i % 2 === 0;
        await pgDatabase(p)
          .transaction(async (tx) => {
            await outbox.publish(tx, `${t}.s${i % 5}`, String(i), { id });
            if (!keep) throw new Error('rolled back');
          })
          .catch(() => undefined);
        (keep ? committed : rolledBack).push(id);
      }
      await relay.drain();
      await until(
        () => committed.every((id) => consumer.deliveries.has(id)),
        'every committed message',
        30_000,
      );
      const effects = await consumer.effects(committed.length);
      const row = record({
        scenario: 'transactions rolled back after writing',
        committed: committed.length,
        delivered: committed.filter((id) => consumer.deliveries.has(id)).length,
        duplicateDeliveries: 0,
        duplicateEffects: effects.total - effects.distinct,
        publishedFromRolledBack: rolledBack.filter((id) => consumer.deliveries.has(id)).length,
        orderBreaches: consumer.orderBreaches(),
        detail: `${rolledBack.length} transactions wrote a message and rolled back`,
      });
      expect(row).toMatchObject({ lost: 0, publishedFromRolledBack: 0 });
    } finally {
      await relay.close();
      await consumer.close();
      await drop();
    }
  });

  it('handlers failing after their writes (inbox): every effect once', async () => {
    const { schema, drop } = await migratedSchema(p);
    const t = token();
    const consumer = await countingConsumer(p, schema, t, true);
    const relay = await startRelay({
      database: pgDatabase(p),
      bus,
      schema,
      pollIntervalMs: 10,
      logger: quiet,
    });
    try {
      const ids = await commitRows(p, schema, t, 20, 10);
      await relay.drain();
      const effects = await consumer.effects(ids.length);
      const row = record({
        scenario: 'handlers failing after their writes (inbox)',
        committed: ids.length,
        delivered: effects.distinct,
        duplicateDeliveries: ids.length,
        duplicateEffects: effects.total - effects.distinct,
        publishedFromRolledBack: 0,
        orderBreaches: 0,
        detail:
          'each handler wrote its effect and threw on attempt 1: the inbox row and the effect rolled back together; attempt 2 had the effect once',
      });
      expect(row).toMatchObject({ lost: 0, duplicateEffects: 0 });
    } finally {
      await relay.close();
      await consumer.close();
      await drop();
    }
  });
});
