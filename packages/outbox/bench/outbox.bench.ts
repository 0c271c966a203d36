// The outbox against a direct `bus.publish`, same process and run: messages written in PostgreSQL
// transactions and forwarded by the relay, vs the same messages published straight to the bus —
// on the memory bus and on NATS (when NATS_URL or 127.0.0.1:4222 answers). Throughput is timed
// until the consumer got every message; latency is commit → delivery (outbox) vs publish →
// delivery (direct), one message at a time. OMNIBUS_PG_URL (default the local `test` database).
import { BenchPart, latencyFigures, rate, within } from '@omnibus/bench-kit';
import type { EventBus } from '@omnibus/core';
import { createMemoryBus } from '@omnibus/memory';
import { createNatsBus } from '@omnibus/nats';
// the built package, as users get it
import { createOutbox, migrate, pgDatabase, type Relay, startRelay } from '@omnibus/outbox';
import pg from 'pg';

const pgUrl = process.env.OMNIBUS_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const part = new BenchPart({
  name: 'outbox',
  title: 'Outbox on PostgreSQL + relay vs a direct bus.publish (256-byte payloads, same process)',
  peer: 'direct publish',
});
const N_BATCHED = part.count('BENCH_OUTBOX', 10_000, 1_000);
const N_SINGLE = part.count('BENCH_OUTBOX_SINGLE', 1_000, 200);
const N_LATENCY = part.count('BENCH_LATENCY', 500, 100);
const payload = new Uint8Array(256).fill(7);
const run = Date.now().toString(36);
/** A schema per bus: relays on one schema take turns, so each bus gets its own outbox. */
const schemaOf = (label: string) => `bench_${run}_${label.toLowerCase()}`;

const pool = await part.require(`PostgreSQL at ${pgUrl.replace(/\/\/[^@]*@/, '//')}`, async () => {
  const p = new pg.Pool({ connectionString: pgUrl, max: 8 });
  p.on('error', () => undefined);
  const { rows } = await p.query('SHOW server_version');
  part.environment.PostgreSQL = String(rows[0]?.server_version ?? 'unknown');
  return p;
});
const database = pgDatabase<pg.PoolClient>(pool);

const buses: { label: string; bus: EventBus }[] = [{ label: 'memory', bus: createMemoryBus() }];
try {
  const nats = await within(
    createNatsBus({ url: natsUrl, streamPrefix: `BENCH_OUTBOX_${run}` }),
    'NATS',
    5_000,
  );
  buses.push({ label: 'NATS', bus: nats });
  part.environment.NATS = natsUrl;
} catch {
  part.notes.push(`No NATS rows: NATS at ${natsUrl} did not answer.`);
}

/** Resolves once `n` messages arrived on `subject` (consumer installed before, closed after). */
async function arrivals(
  bus: EventBus,
  subject: string,
  n: number,
): Promise<{ done: Promise<void>; stop(): Promise<void> }> {
  let seen = 0;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const consumer = await bus.consume(subject, () => {
    if (++seen === n) finish();
  });
  return { done: within(done, `${n} messages on ${subject}`, 120_000), stop: () => consumer.close() };
}

const relays: Relay[] = [];
try {
  for (const { label, bus } of buses) {
    const schema = schemaOf(label);
    await migrate(database, { schema });
    const outbox = createOutbox({ schema });
    const relay = await startRelay({ database, bus, schema, batchSize: 500, pollIntervalMs: 50 });
    relays.push(relay);
    const subject = (what: string, round: number) =>
      `benchoutbox${run}.${label.toLowerCase()}.${what}${round}`;
    part.add({
      name: `${label}: transactions of 100 messages → relay → consumer (${N_BATCHED})`,
      unit: 'msg/s',
      omnibus: async (round) => {
        const s = subject('batched', round);
        const got = await arrivals(bus, s, N_BATCHED);
        const t = performance.now();
        for (let i = 0; i < N_BATCHED; i += 100) {
          await database.transaction((tx) =>
            outbox.publishBatch(
              tx,
              Array.from({ length: 100 }, () => ({ subject: s, payload })),
            ),
          );
        }
        await got.done;
        const result = rate(N_BATCHED, performance.now() - t);
        await got.stop();
        return result;
      },
      peers: {
        'direct publish': async (round) => {
          const s = subject('batcheddirect', round);
          const got = await arrivals(bus, s, N_BATCHED);
          const t = performance.now();
          for (let i = 0; i < N_BATCHED; i += 100) {
            await bus.publishBatch(Array.from({ length: 100 }, () => ({ subject: s, payload })));
          }
          await got.done;
          const result = rate(N_BATCHED, performance.now() - t);
          await got.stop();
          return result;
        },
      },
    });
    part.add({
      name: `${label}: one message per transaction, awaited one by one (${N_SINGLE})`,
      unit: 'msg/s',
      omnibus: async (round) => {
        const s = subject('single', round);
        const got = await arrivals(bus, s, N_SINGLE);
        const t = performance.now();
        for (let i = 0; i < N_SINGLE; i++) await database.transaction((tx) => outbox.publish(tx, s, payload));
        await got.done;
        const result = rate(N_SINGLE, performance.now() - t);
        await got.stop();
        return result;
      },
      peers: {
        'direct publish': async (round) => {
          const s = subject('singledirect', round);
          const got = await arrivals(bus, s, N_SINGLE);
          const t = performance.now();
          for (let i = 0; i < N_SINGLE; i++) await bus.publish(s, payload);
          await got.done;
          const result = rate(N_SINGLE, performance.now() - t);
          await got.stop();
          return result;
        },
      },
    });
    part.add({
      name: `${label}: commit → delivery latency (direct: publish → delivery) (${N_LATENCY})`,
      unit: 'ms',
      omnibus: async (round) => {
        const s = subject('latency', round);
        return latencyFigures(
          await oneByOne(bus, s, async () => {
            await database.transaction((tx) => outbox.publish(tx, s, payload));
            return performance.now();
          }),
          3,
        );
      },
      peers: {
        'direct publish': async (round) => {
          const s = subject('latencydirect', round);
          return latencyFigures(
            await oneByOne(bus, s, async () => {
              const sentAt = performance.now();
              await bus.publish(s, payload);
              return sentAt;
            }),
            3,
          );
        },
      },
    });
  }
  await part.run();
} finally {
  for (const relay of relays) await relay.close();
  for (const { bus } of buses) await bus.close();
  for (const { label } of buses) {
    await pool.query(`DROP SCHEMA IF EXISTS "${schemaOf(label)}" CASCADE`).catch(() => undefined);
  }
  await pool.end();
}

/** `N_LATENCY` samples: `send()` resolves with the moment the clock starts; the sample ends at delivery. */
async function oneByOne(bus: EventBus, subject: string, send: () => Promise<number>): Promise<number[]> {
  const samples: number[] = [];
  let arrived!: () => void;
  const consumer = await bus.consume(subject, () => arrived());
  try {
    for (let i = 0; i < N_LATENCY; i++) {
      const delivered = new Promise<number>((resolve) => {
        arrived = () => resolve(performance.now());
      });
      const startedAt = await send();
      // the relay may see the commit before the writer hears of it: no negative sample
      samples.push(Math.max(0, (await within(delivered, 'a latency sample', 10_000)) - startedAt));
    }
  } finally {
    await consumer.close();
  }
  return samples;
}
