import type { Message } from '@omnibus/core';
import { createMemoryBus } from '@omnibus/memory';
import type pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInbox, pgDatabase, postgresDatabase } from '../src/index.js';
import { migratedSchema, PG_URL, pool, until } from './db.js';

let p: pg.Pool;
beforeAll(() => {
  p = pool();
});
afterAll(() => p.end());

async function effects(schema: string): Promise<string[]> {
  const { rows } = await p.query(`SELECT message_id FROM "${schema}".effects ORDER BY message_id`);
  return rows.map((r) => r.message_id);
}

async function withEffects(): Promise<{ schema: string; drop(): Promise<void> }> {
  const made = await migratedSchema(p);
  await p.query(`CREATE TABLE "${made.schema}".effects (message_id text, consumer text)`);
  return made;
}

function fakeMessage(id: string): Message {
  return {
    id,
    subject: 'orders.created',
    payload: new Uint8Array(),
    headers: {},
    attempt: 1,
  } as unknown as Message;
}

describe('inbox', () => {
  it('a handler that fails after its writes: everything rolls back, the retry has the effect once', async () => {
    const { schema, drop } = await withEffects();
    const bus = createMemoryBus();
    const inbox = createInbox({ database: pgDatabase(p), consumer: 'billing', schema });
    const attempts: number[] = [];
    await bus.consume(
      'orders.>',
      inbox.handle(async (message, tx) => {
        attempts.push(message.attempt);
        await tx.query(`INSERT INTO "${schema}".effects VALUES ($1, 'billing')`, [message.id]);
        if (message.attempt === 1) throw new Error('card declined after the write');
      }),
      { group: 'billing', backoff: 10, onError: () => undefined },
    );
    try {
      await bus.publish('orders.created', 'x', { id: 'order-1' });
      await until(() => inbox.stats().processed === 1, 'the retry');
      expect(attempts).toEqual([1, 2]);
      expect(await effects(schema)).toEqual(['order-1']);
      expect(inbox.stats()).toEqual({ processed: 1, duplicates: 0, failed: 1 });
    } finally {
      await bus.close();
      await drop();
    }
  });

  it('a redelivery of a message already handled (ack lost: the handler outlived the ack timeout) has no second effect', async () => {
    const { schema, drop } = await withEffects();
    const bus = createMemoryBus();
    const inbox = createInbox({ database: pgDatabase(p), consumer: 'billing', schema });
    const attempts: number[] = [];
    await bus.consume(
      'orders.>',
      inbox.handle(async (message, tx) => {
        attempts.push(message.attempt);
        await tx.query(`INSERT INTO "${schema}".effects VALUES ($1, 'billing')`, [message.id]);
      }),
      { group: 'billing', ackTimeoutMs: 150 },
    );
    // a slow commit: the effect is written, then the transaction ends after the ack timeout
    const blocker = await p.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`LOCK TABLE "${schema}".effects IN EXCLUSIVE MODE`);
      await bus.publish('orders.created', 'x', { id: 'order-2' });
      await new Promise((resolve) => setTimeout(resolve, 400));
      await blocker.query('COMMIT');
      await until(() => inbox.stats().processed + inbox.stats().duplicates >= 2, 'both deliveries');
      expect(attempts).toEqual([1]);
      expect(await effects(schema)).toEqual(['order-2']);
      // every redelivery while the first transaction was open waited on its inbox row, then saw it
      expect(inbox.stats().processed).toBe(1);
      expect(inbox.stats().duplicates).toBeGreaterThanOrEqual(1);
    } finally {
      blocker.release();
      await bus.close();
      await drop();
    }
  });

  it('two deliveries of one id at the same time: one effect, one duplicate; another consumer has its own', async () => {
    const { schema, drop } = await withEffects();
    const billing = createInbox({ database: pgDatabase<pg.PoolClient>(p), consumer: 'billing', schema });
    const audit = createInbox({ database: pgDatabase<pg.PoolClient>(p), consumer: 'audit', schema });
    const write = (consumer: string) => async (message: Message, tx: pg.PoolClient) => {
      await tx.query(`INSERT INTO "${schema}".effects VALUES ($1, $2)`, [message.id, consumer]);
      await new Promise((resolve) => setTimeout(resolve, 50));
    };
    try {
      const handle = billing.handle(write('billing'));
      await Promise.all([
        handle(fakeMessage('m-1')),
        handle(fakeMessage('m-1')),
        audit.handle(write('audit'))(fakeMessage('m-1')),
      ]);
      const { rows } = await p.query(`SELECT consumer FROM "${schema}".effects ORDER BY consumer`);
      expect(rows.map((r) => r.consumer)).toEqual(['audit', 'billing']);
      expect(billing.stats()).toEqual({ processed: 1, duplicates: 1, failed: 0 });
      expect(await billing.prune(0)).toBe(1);
      expect(await audit.prune(60_000)).toBe(0);
    } finally {
      await drop();
    }
  });

  it('works on postgres.js, the handler writing through the transaction it is given', async () => {
    const { schema, drop } = await withEffects();
    const sql = postgres(PG_URL, { max: 3, onnotice: () => undefined });
    const inbox = createInbox({
      database: postgresDatabase<postgres.TransactionSql>(sql),
      consumer: 'billing',
      schema,
    });
    try {
      const handle = inbox.handle(async (message, tx) => {
        await tx.unsafe(`INSERT INTO "${schema}".effects VALUES ($1, 'billing')`, [message.id]);
      });
      await handle(fakeMessage('pj-1'));
      await handle(fakeMessage('pj-1'));
      expect(await effects(schema)).toEqual(['pj-1']);
      expect(inbox.stats()).toEqual({ processed: 1, duplicates: 1, failed: 0 });
    } finally {
      await sql.end();
      await drop();
    }
  });

  it('rejects bad options with typed errors', () => {
    expect(() => createInbox({ database: pgDatabase(p), consumer: '' })).toThrow('consumer');
    expect(() => createInbox({ database: {} as never, consumer: 'x' })).toThrow('OutboxDatabase');
    expect(() => createInbox({ database: pgDatabase(p), consumer: 'x' }).handle(42 as never)).toThrow(
      'function',
    );
  });
});
