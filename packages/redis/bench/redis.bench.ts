// Omnibus on Redis vs raw ioredis doing the same work, in alternating rounds of one run.
// Bounded: fixed message counts (smaller with --quick / BENCH_QUICK=1), each round capped in
// time. REDIS_URL (default redis://127.0.0.1:6379); skipped with a one-line reason when the
// server cannot be reached.
// the built package, as users get it (tsx would add name-keeping wrappers to src)

import { randomUUID } from 'node:crypto';
import {
  BenchPart,
  cardinalityScenarios,
  latencyFigures,
  measureConsumeRate,
  measureFastPath,
  measureLatencies,
  rate,
  redriveScenario,
} from '@omnibus/bench-kit';
import { createRedisBus } from '@omnibus/redis';
import { Redis } from 'ioredis';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const part = new BenchPart({
  name: 'redis',
  title: 'Omnibus Redis adapter vs raw ioredis (256-byte payloads, same process)',
  peer: 'raw client',
});
const N_AWAITED = part.count('BENCH_AWAITED', 5_000, 500);
const N_PIPELINED = part.count('BENCH_PIPELINED', 20_000, 3_000);
const N_CONSUME = part.count('BENCH_CONSUME', 20_000, 3_000);
const N_LATENCY = part.count('BENCH_LATENCY', 1_000, 200);
const N_REDRIVE = part.count('BENCH_REDRIVE', 10_000, 300);
const N_PUBSUB = part.count('BENCH_PUBSUB', 20_000, 3_000);
const N_SUBJECTS = part.count('BENCH_SUBJECTS', 10_000, 1_000);
const payload = Buffer.alloc(256, 7);
const run = Date.now().toString(36);
const keyPrefix = `bench-omni-${run}`;
const rawKey = (s: string) => `bench-raw-${run}:${s}`;

const version = await part.require(`Redis at ${url}`, async () => {
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  let failure: unknown;
  probe.on('error', (error) => {
    failure ??= error; // more telling than connect()'s "Connection is closed."
  });
  try {
    await probe.connect().catch((error) => Promise.reject(failure ?? error));
    return /redis_version:(\S+)/.exec(await probe.info('server'))?.[1] ?? 'unknown';
  } finally {
    probe.disconnect();
  }
});
part.environment.Redis = version;
part.environment.URL = url;
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

/**
 * The peer doing the same work as Omnibus: every entry carries a message id and
 * the publish time (fields `i` and `t`), as Omnibus stores them.
 */
const SAME_WORK = 'raw client, id + time fields';
const idAndTime = (): string[] => ['i', randomUUID(), 't', String(Date.now())];

/** A raw grouped consume of a fresh backlog of `fields()` entries (publishing it is not timed). */
async function rawBacklogRound(
  name: string,
  fields: () => (string | Buffer)[],
  decode = false,
): Promise<number> {
  const key = rawKey(name);
  for (let i = 0; i < N_CONSUME; i += 1000) {
    const p = client.pipeline();
    for (let j = 0; j < Math.min(1000, N_CONSUME - i); j++) p.xadd(key, '*', ...fields());
    await p.exec();
  }
  await client.xgroup('CREATE', key, 'bench', '0');
  let checksum = 0;
  const rate = await measureConsumeRate(
    N_CONSUME,
    async (onMessage) =>
      rawConsume(key, 'bench', 500, (f) => {
        // the same work as a message's id and publish time: read them from the entry
        if (decode) checksum += String(f[1]).length + Number(String(f[3]));
        onMessage();
      }),
    'raw consume',
  );
  if (decode && !(checksum > 0)) throw new Error('raw consume read no id and time');
  return rate;
}

try {
  part.add({
    name: `publish (XADD), awaited one by one (${N_AWAITED})`,
    unit: 'msg/s',
    omnibus: async () => {
      const t = performance.now();
      for (let i = 0; i < N_AWAITED; i++) await bus.publish('bench.awaited', payload);
      return rate(N_AWAITED, performance.now() - t);
    },
    peers: {
      'raw client': async () => {
        const t = performance.now();
        for (let i = 0; i < N_AWAITED; i++) await client.xadd(rawKey('awaited'), '*', 'p', payload);
        return rate(N_AWAITED, performance.now() - t);
      },
      [SAME_WORK]: async () => {
        const t = performance.now();
        for (let i = 0; i < N_AWAITED; i++)
          await client.xadd(rawKey('awaited-it'), '*', ...idAndTime(), 'p', payload);
        return rate(N_AWAITED, performance.now() - t);
      },
    },
  });

  part.add({
    name: `publish (XADD), pipelined in batches of 1,000 (${N_PIPELINED})`,
    unit: 'msg/s',
    omnibus: async () => {
      const t = performance.now();
      for (let i = 0; i < N_PIPELINED; i += 1000) {
        await bus.publishBatch(Array.from({ length: 1000 }, () => ({ subject: 'bench.pipelined', payload })));
      }
      return rate(N_PIPELINED, performance.now() - t);
    },
    peers: {
      'raw client': async () => {
        const t = performance.now();
        for (let i = 0; i < N_PIPELINED; i += 1000) {
          const p = client.pipeline();
          for (let j = 0; j < 1000; j++) p.xadd(rawKey('pipelined'), '*', 'p', payload);
          await p.exec();
        }
        return rate(N_PIPELINED, performance.now() - t);
      },
      [SAME_WORK]: async () => {
        const t = performance.now();
        for (let i = 0; i < N_PIPELINED; i += 1000) {
          const p = client.pipeline();
          for (let j = 0; j < 1000; j++) p.xadd(rawKey('pipelined-it'), '*', ...idAndTime(), 'p', payload);
          await p.exec();
        }
        return rate(N_PIPELINED, performance.now() - t);
      },
    },
  });

  // XREADGROUP + XACK, 500 at a time; a fresh backlog each round (publishing it is not timed)
  part.add({
    name: `grouped consume of a backlog with acks (${N_CONSUME})`,
    unit: 'msg/s',
    omnibus: async (round) => {
      const subject = `bench.backlog${round}`;
      const backlog = Array.from({ length: N_CONSUME }, () => ({ subject, payload }));
      for (let i = 0; i < N_CONSUME; i += 1000) await bus.publishBatch(backlog.slice(i, i + 1000));
      return measureConsumeRate(
        N_CONSUME,
        async (onMessage) => {
          const c = await bus.consume(subject, onMessage, {
            group: 'bench',
            from: 'earliest',
            maxInFlight: 500,
          });
          return () => c.close();
        },
        'omnibus consume',
      );
    },
    peers: {
      'raw client': (round) => rawBacklogRound(`backlog${round}`, () => ['p', payload]),
      [SAME_WORK]: (round) =>
        rawBacklogRound(`backlog-it${round}`, () => [...idAndTime(), 'p', payload], true),
    },
  });

  part.add({
    name: `publish → deliver latency (${N_LATENCY})`,
    unit: 'ms',
    omnibus: async () =>
      latencyFigures(
        await measureLatencies(
          N_LATENCY,
          async (on) => {
            const c = await bus.consume('bench.latency', (m) => on(Number(m.text())));
            return () => c.close();
          },
          (sentAt) => bus.publish('bench.latency', String(sentAt)),
        ),
        3,
      ),
    peers: {
      'raw client': async (round) => {
        await client.xgroup('CREATE', rawKey('latency'), `lat${round}`, '$', 'MKSTREAM');
        const samples = await measureLatencies(
          N_LATENCY,
          async (on) =>
            rawConsume(rawKey('latency'), `lat${round}`, 100, (fields) => on(Number(String(fields[1])))),
          (sentAt) => client.xadd(rawKey('latency'), '*', 'p', String(sentAt)),
        );
        return latencyFigures(samples, 3);
      },
    },
  });

  // where the adapter has the management API (capabilities.management): a redrive of dead letters
  // at most once: Pub/Sub on both sides (PUBLISH awaited, as Omnibus does; one PSUBSCRIBE connection)
  part.add({
    name: `at most once (Pub/Sub): publish → consume (${N_PUBSUB})`,
    unit: 'msg/s',
    omnibus: () =>
      measureFastPath(
        N_PUBSUB,
        async (on) => {
          const c = await bus.consume(`ps${run}.omni`, on, {
            delivery: 'at-most-once',
            maxInFlight: 100_000,
          });
          return () => c.close();
        },
        () => bus.publish(`ps${run}.omni`, payload, { delivery: 'at-most-once' }),
      ),
    peers: {
      'raw client': async () => {
        const subscriber = new Redis(url);
        try {
          return await measureFastPath(
            N_PUBSUB,
            async (on) => {
              subscriber.on('pmessageBuffer', () => on());
              await subscriber.psubscribe(`ps-raw-${run}.*`);
              return () => subscriber.punsubscribe();
            },
            () => client.publish(`ps-raw-${run}.raw`, payload),
          );
        } finally {
          subscriber.disconnect();
        }
      },
      // the same work as Omnibus: each message carries an id and its publish time, read on arrival
      'raw client, id + time in the message': async () => {
        const subscriber = new Redis(url);
        let n = 0;
        try {
          return await measureFastPath(
            N_PUBSUB,
            async (on) => {
              subscriber.on('pmessageBuffer', (_glob: Buffer, _channel: Buffer, frame: Buffer) => {
                const idLength = frame.readUInt16BE(0);
                frame.toString('utf8', 2, 2 + idLength);
                frame.readDoubleBE(2 + idLength);
                on();
              });
              await subscriber.psubscribe(`ps-rawid-${run}.*`);
              return () => subscriber.punsubscribe();
            },
            () => {
              const id = Buffer.from(`${run}-${n++}`);
              const frame = Buffer.allocUnsafe(10 + id.length + payload.length);
              frame.writeUInt16BE(id.length, 0);
              id.copy(frame, 2);
              frame.writeDoubleBE(Date.now(), 2 + id.length);
              frame.set(payload, 10 + id.length);
              return client.publish(`ps-rawid-${run}.raw`, frame);
            },
          );
        } finally {
          subscriber.disconnect();
        }
      },
    },
  });

  for (const scenario of cardinalityScenarios(bus, {
    subjects: N_SUBJECTS,
    payload,
    note: (line) => part.notes.push(`${line} (One stream per subject: each is a key.)`),
    footprint: async () => {
      const memory = Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1] ?? 0);
      return { keys: await client.dbsize(), 'bytes of memory': memory };
    },
  }))
    part.add(scenario);
  if (bus.capabilities.management) part.add(redriveScenario(bus, N_REDRIVE, payload));
  else part.notes.push('No redrive row: this adapter has no management API yet.');
  await part.run();
} finally {
  await bus.close();
  for (const pattern of [`{${keyPrefix}}:*`, `bench-raw-${run}:*`]) {
    const keys = await client.keys(pattern);
    if (keys.length > 0) await client.del(...keys);
  }
  client.disconnect();
  blocking.disconnect();
}
