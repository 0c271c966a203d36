// Omnibus on Redis vs raw ioredis doing the same work, in the same run.
// Bounded: fixed message counts, each phase capped in time. REDIS_URL (default redis://127.0.0.1:6379).
// the built package, as users get it (tsx would add name-keeping wrappers to src)
import { createRedisBus } from '@omnibus/redis';
import {
  type BenchRow,
  latencyRows,
  measureConsumeRate,
  measureLatencies,
  rate,
  reportBenchmark,
} from '@omnibus/testing';
import { Redis } from 'ioredis';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const N_AWAITED = Number(process.env.BENCH_AWAITED ?? 5_000);
const N_PIPELINED = Number(process.env.BENCH_PIPELINED ?? 20_000);
const N_CONSUME = Number(process.env.BENCH_CONSUME ?? 20_000);
const N_LATENCY = Number(process.env.BENCH_LATENCY ?? 1_000);
const payload = Buffer.alloc(256, 7);
const run = Date.now().toString(36);
const keyPrefix = `bench-omni-${run}`;
const rawKey = (s: string) => `bench-raw-${run}:${s}`;
const rows: BenchRow[] = [];

const client = new Redis(url, { enableAutoPipelining: true });
const blocking = new Redis(url);
const bus = await createRedisBus({ url, keyPrefix });

/** The raw client's consume loop: XREADGROUP up to `count` entries, XACK each (auto-pipelined). */
function rawConsume(key: string, group: string, count: number, onEntry: (fields: Buffer[]) => void) {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const reply = (await blocking.callBuffer(
        'XREADGROUP',
        'GROUP',
        group,
        'c1',
        'COUNT',
        count,
        'BLOCK',
        100,
        'STREAMS',
        key,
        '>',
      )) as [Buffer, [Buffer, Buffer[]][]][] | null;
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          void client.xack(key, group, id);
          onEntry(fields);
        }
      }
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

try {
  // 1. awaited publishes
  let t = performance.now();
  for (let i = 0; i < N_AWAITED; i++) await bus.publish('bench.awaited', payload);
  const omniAwaited = rate(N_AWAITED, performance.now() - t);
  t = performance.now();
  for (let i = 0; i < N_AWAITED; i++) await client.xadd(rawKey('awaited'), '*', 'p', payload);
  rows.push({
    scenario: `publish (XADD), awaited one by one (${N_AWAITED})`,
    omnibus: omniAwaited,
    peer: rate(N_AWAITED, performance.now() - t),
    unit: 'msg/s',
  });

  // 2. pipelined publishes, in batches of 1,000
  t = performance.now();
  for (let i = 0; i < N_PIPELINED; i += 1000) {
    await bus.publishBatch(Array.from({ length: 1000 }, () => ({ subject: 'bench.pipelined', payload })));
  }
  const omniPipelined = rate(N_PIPELINED, performance.now() - t);
  t = performance.now();
  for (let i = 0; i < N_PIPELINED; i += 1000) {
    const p = client.pipeline();
    for (let j = 0; j < 1000; j++) p.xadd(rawKey('pipelined'), '*', 'p', payload);
    await p.exec();
  }
  rows.push({
    scenario: `publish (XADD), pipelined (${N_PIPELINED})`,
    omnibus: omniPipelined,
    peer: rate(N_PIPELINED, performance.now() - t),
    unit: 'msg/s',
  });

  // 3. consume a backlog with acks (XREADGROUP + XACK), 500 at a time
  const backlog = Array.from({ length: N_CONSUME }, () => ({ subject: 'bench.backlog', payload }));
  for (let i = 0; i < N_CONSUME; i += 1000) await bus.publishBatch(backlog.slice(i, i + 1000));
  for (let i = 0; i < N_CONSUME; i += 1000) {
    const p = client.pipeline();
    for (let j = 0; j < 1000; j++) p.xadd(rawKey('backlog'), '*', 'p', payload);
    await p.exec();
  }
  const omniConsume = await measureConsumeRate(
    N_CONSUME,
    async (onMessage) => {
      const c = await bus.consume('bench.backlog', onMessage, {
        group: 'bench',
        from: 'earliest',
        maxInFlight: 500,
      });
      return () => c.close();
    },
    'omnibus consume',
  );
  await client.xgroup('CREATE', rawKey('backlog'), 'bench', '0');
  const rawConsumeRate = await measureConsumeRate(
    N_CONSUME,
    async (onMessage) => rawConsume(rawKey('backlog'), 'bench', 500, onMessage),
    'raw consume',
  );
  rows.push({
    scenario: `consume a backlog with acks (${N_CONSUME})`,
    omnibus: omniConsume,
    peer: rawConsumeRate,
    unit: 'msg/s',
  });

  // 4. publish → deliver latency, one message at a time
  const omniLat = await measureLatencies(
    N_LATENCY,
    async (on) => {
      const c = await bus.consume('bench.latency', (m) => on(Number(m.text())));
      return () => c.close();
    },
    (sentAt) => bus.publish('bench.latency', String(sentAt)),
  );
  await client.xgroup('CREATE', rawKey('latency'), 'lat', '$', 'MKSTREAM');
  const rawLat = await measureLatencies(
    N_LATENCY,
    async (on) => rawConsume(rawKey('latency'), 'lat', 100, (fields) => on(Number(String(fields[1])))),
    (sentAt) => client.xadd(rawKey('latency'), '*', 'p', String(sentAt)),
  );
  rows.push(...latencyRows('publish → deliver latency', omniLat, rawLat));
} finally {
  await bus.close();
  for (const pattern of [`{${keyPrefix}}:*`, `bench-raw-${run}:*`]) {
    const keys = await client.keys(pattern);
    if (keys.length > 0) await client.del(...keys);
  }
  client.disconnect();
  blocking.disconnect();
}

reportBenchmark({
  name: 'redis',
  title: `Omnibus Redis adapter vs raw ioredis (${url}, 256-byte payloads, same process, same run)`,
  peer: 'raw client',
  rows,
});
