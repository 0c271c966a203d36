// Omnibus on Kafka vs raw kafkajs doing the same work, in the same run.
// Bounded: fixed message counts, each phase capped in time. KAFKA_BROKERS (default 127.0.0.1:9092).
// the built package, as users get it (tsx would add name-keeping wrappers to src)
import { createKafkaBus } from '@omnibus/kafka';
import {
  type BenchRow,
  latencyRows,
  measureConsumeRate,
  measureLatencies,
  rate,
  reportBenchmark,
} from '@omnibus/testing';
import { Kafka, logLevel } from 'kafkajs';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const N_AWAITED = Number(process.env.BENCH_AWAITED ?? 1_000);
const N_BATCHED = Number(process.env.BENCH_PIPELINED ?? 20_000);
const N_CONSUME = Number(process.env.BENCH_CONSUME ?? 20_000);
const N_LATENCY = Number(process.env.BENCH_LATENCY ?? 500);
const payload = Buffer.alloc(256, 7);
const run = Date.now().toString(36);
const prefix = `bench-${run}.`;
const rawTopic = (s: string) => `${prefix}raw-${s}`;
const rows: BenchRow[] = [];

const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
// the raw side does what the adapter does: an idempotent producer with acks -1, 3-partition topics
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
await admin.createTopics({
  waitForLeaders: true,
  topics: ['awaited', 'batched', 'backlog', 'latency'].map((s) => ({ topic: rawTopic(s), numPartitions: 3 })),
});
const bus = await createKafkaBus({ brokers, topicPrefix: prefix, groupPrefix: prefix });

/** A raw consumer group committing each batch's offsets after handling it (the adapter commits after ack). */
async function rawConsume(topic: string, groupId: string, onMessage: (value: Buffer) => void) {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary }) => {
      for (const m of batch.messages) {
        onMessage(m.value as Buffer);
        resolveOffset(m.offset);
      }
      const next = String(Number(batch.lastOffset()) + 1);
      await commitOffsetsIfNecessary({
        topics: [{ topic, partitions: [{ partition: batch.partition, offset: next }] }],
      });
    },
  });
  return async () => void (await consumer.disconnect());
}

try {
  // 1. awaited publishes
  await bus.publish('awaited.x', payload); // topic creation outside the measurement
  let t = performance.now();
  for (let i = 0; i < N_AWAITED; i++) await bus.publish('awaited.x', payload);
  const omniAwaited = rate(N_AWAITED, performance.now() - t);
  t = performance.now();
  for (let i = 0; i < N_AWAITED; i++) {
    await producer.send({
      topic: rawTopic('awaited'),
      acks: -1,
      messages: [{ key: 'awaited.x', value: payload }],
    });
  }
  rows.push({
    scenario: `publish, awaited one by one (${N_AWAITED})`,
    omnibus: omniAwaited,
    peer: rate(N_AWAITED, performance.now() - t),
    unit: 'msg/s',
  });

  // 2. batched publishes, 1,000 per call
  await bus.publish('batched.x', payload);
  t = performance.now();
  for (let i = 0; i < N_BATCHED; i += 1000) {
    await bus.publishBatch(Array.from({ length: 1000 }, () => ({ subject: 'batched.x', payload })));
  }
  const omniBatched = rate(N_BATCHED, performance.now() - t);
  t = performance.now();
  for (let i = 0; i < N_BATCHED; i += 1000) {
    await producer.send({
      topic: rawTopic('batched'),
      acks: -1,
      messages: Array.from({ length: 1000 }, () => ({ key: 'batched.x', value: payload })),
    });
  }
  rows.push({
    scenario: `publish, batched (${N_BATCHED})`,
    omnibus: omniBatched,
    peer: rate(N_BATCHED, performance.now() - t),
    unit: 'msg/s',
  });

  // 3. grouped consume of a backlog with commits, over 30 subjects (so every partition has work)
  const backlog = Array.from({ length: N_CONSUME }, (_, i) => ({ subject: `backlog.s${i % 30}`, payload }));
  for (let i = 0; i < N_CONSUME; i += 1000) await bus.publishBatch(backlog.slice(i, i + 1000));
  for (let i = 0; i < N_CONSUME; i += 1000) {
    await producer.send({
      topic: rawTopic('backlog'),
      acks: -1,
      messages: backlog.slice(i, i + 1000).map((m) => ({ key: m.subject, value: payload })),
    });
  }
  const omniConsume = await measureConsumeRate(
    N_CONSUME,
    async (onMessage) => {
      const c = await bus.consume('backlog.*', onMessage, {
        group: 'bench',
        from: 'earliest',
        maxInFlight: 500,
      });
      return () => c.close();
    },
    'omnibus consume',
    120_000,
  );
  const rawConsumeRate = await measureConsumeRate(
    N_CONSUME,
    (onMessage) => rawConsume(rawTopic('backlog'), `${prefix}raw-bench`, onMessage),
    'raw consume',
    120_000,
  );
  rows.push({
    scenario: `grouped consume of a backlog with commits (${N_CONSUME})`,
    omnibus: omniConsume,
    peer: rawConsumeRate,
    unit: 'msg/s',
  });

  // 4. publish → deliver latency, one message at a time
  const omniLat = await measureLatencies(
    N_LATENCY,
    async (on) => {
      const c = await bus.consume('latency.x', (m) => on(Number(m.text())));
      return () => c.close();
    },
    (sentAt) => bus.publish('latency.x', String(sentAt)),
  );
  const rawLat = await measureLatencies(
    N_LATENCY,
    (on) => rawConsume(rawTopic('latency'), `${prefix}raw-lat`, (value) => on(Number(String(value)))),
    (sentAt) =>
      producer.send({
        topic: rawTopic('latency'),
        acks: -1,
        messages: [{ key: 'latency.x', value: String(sentAt) }],
      }),
  );
  rows.push(...latencyRows('publish → deliver latency', omniLat, rawLat));
} finally {
  await bus.close();
  await producer.disconnect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
}

reportBenchmark({
  name: 'kafka',
  title: `Omnibus Kafka adapter vs raw kafkajs (${brokers.join(',')}, 256-byte payloads, same process, same run)`,
  peer: 'raw client',
  rows,
});
