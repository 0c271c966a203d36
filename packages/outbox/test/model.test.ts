// The outbox under random histories (fast-check): writers that commit or roll back, a long
// transaction left open across other commits, relays started and closed at any point, one or two
// at a time. The oracle, once every transaction ended and a relay drained the outbox: every
// committed message delivered, nothing of a rolled-back transaction, and each subject's messages
// delivered in the relay's documented order — (xid, position) of their rows. A failure prints the
// seed and the shrunk history. OMNIBUS_OUTBOX_MODEL_RUNS / OMNIBUS_MODEL_SEED change the budget.
import { createMemoryBus } from '@omnibus/memory';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createOutbox, pgDatabase, type Relay, startRelay } from '../src/index.js';
import { migratedSchema, pool, until } from './db.js';

const runs = Number(process.env.OMNIBUS_OUTBOX_MODEL_RUNS || 40);
const seed = Number(process.env.OMNIBUS_MODEL_SEED || 20261206);

type Command =
  | { kind: 'write'; subjects: number[]; commit: boolean }
  | { kind: 'open-long'; subject: number }
  | { kind: 'end-long'; commit: boolean }
  | { kind: 'start-relay' }
  | { kind: 'close-relay' }
  | { kind: 'pause'; ms: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      subjects: fc.array(fc.nat(2), { minLength: 1, maxLength: 4 }),
      commit: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('open-long' as const), subject: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('end-long' as const), commit: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'start-relay' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'close-relay' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 30 }) }),
  },
);

let p: pg.Pool;
beforeAll(() => {
  p = pool(undefined, 12);
});
afterAll(() => p.end());

async function runHistory(commands: readonly Command[]): Promise<void> {
  const { schema, drop } = await migratedSchema(p);
  const bus = createMemoryBus({ logger: { warn() {} } });
  const delivered: { id: string; subject: string }[] = [];
  await bus.consume('model.>', (m) => void delivered.push({ id: m.id, subject: m.subject }));
  const outbox = createOutbox({ schema });
  const database = pgDatabase<pg.PoolClient>(p);
  const relays: Relay[] = [];
  const committed = new Set<string>();
  const rolledBack = new Set<string>();
  let long: { client: pg.PoolClient; ids: string[] } | undefined;
  let n = 0;
  const nextId = () => `m${n++}`;
  const endLong = async (commit: boolean) => {
    if (!long) return;
    await long.client.query(commit ? 'COMMIT' : 'ROLLBACK');
    for (const id of long.ids) (commit ? committed : rolledBack).add(id);
    long.client.release();
    long = undefined;
  };
  try {
    for (const c of commands) {
      if (c.kind === 'write') {
        const entries = c.subjects.map((s) => ({ subject: `model.s${s}`, payload: 'x', id: nextId() }));
        await database
          .transaction(async (tx) => {
            await outbox.publishBatch(tx, entries);
            if (!c.commit) throw new Error('rolled back on purpose');
          })
          .catch(() => undefined);
        for (const e of entries) (c.commit ? committed : rolledBack).add(e.id);
      } else if (c.kind === 'open-long') {
        if (long) continue;
        const client = await p.connect();
        await client.query('BEGIN');
        const id = nextId();
        await outbox.publish(client, `model.s${c.subject}`, 'long', { id });
        long = { client, ids: [id] };
      } else if (c.kind === 'end-long') {
        await endLong(c.commit);
      } else if (c.kind === 'start-relay') {
        if (relays.length < 2)
          relays.push(
            await startRelay({
              database,
              bus,
              schema,
              batchSize: 3,
              pollIntervalMs: 10,
              logger: { warn() {} },
            }),
          );
      } else if (c.kind === 'close-relay') {
        await relays.shift()?.close();
      } else {
        await new Promise((resolve) => setTimeout(resolve, c.ms));
      }
    }
    await endLong(true);
    if (relays.length === 0)
      relays.push(await startRelay({ database, bus, schema, batchSize: 3, pollIntervalMs: 10 }));
    await relays[0]?.drain(20_000);
    await until(
      () => [...committed].every((id) => delivered.some((d) => d.id === id)),
      'every committed message',
      10_000,
    ).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const ids = new Set(delivered.map((d) => d.id));
    const lost = [...committed].filter((id) => !ids.has(id));
    const fromRolledBack = [...rolledBack].filter((id) => ids.has(id));
    expect({ lost, fromRolledBack, deliveredTwice: delivered.length - ids.size }).toEqual({
      lost: [],
      fromRolledBack: [],
      deliveredTwice: 0,
    });
    // the documented order: per subject, ascending (xid, position) of the rows
    const { rows } = await p.query(`SELECT id, xid::text::numeric AS xid, position FROM "${schema}".outbox`);
    const key = new Map(rows.map((r) => [r.id as string, [BigInt(r.xid), BigInt(r.position)] as const]));
    const last = new Map<string, readonly [bigint, bigint]>();
    for (const d of delivered) {
      const k = key.get(d.id);
      const before = last.get(d.subject);
      if (k && before)
        expect(
          k[0] > before[0] || (k[0] === before[0] && k[1] > before[1]),
          `order on ${d.subject} at ${d.id}`,
        ).toBe(true);
      if (k) last.set(d.subject, k);
    }
  } finally {
    if (long) {
      await long.client.query('ROLLBACK').catch(() => undefined);
      long.client.release();
    }
    for (const relay of relays) await relay.close();
    await bus.close();
    await drop();
  }
}

it(`outbox model: ${runs} random histories of writers, rollbacks, a long transaction and relays`, async () => {
  await fc.assert(fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 16 }), runHistory), {
    numRuns: runs,
    seed,
    verbose: 1,
  });
}, 600_000);
