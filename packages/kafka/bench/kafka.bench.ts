// Omnibus on Kafka vs raw kafkajs doing the same work, in alternating rounds of one run.
// Bounded: fixed message counts (smaller with --quick / BENCH_QUICK=1), each round capped in
// time. KAFKA_BROKERS (default 127.0.0.1:9092); skipped with a one-line reason when no broker
// answers.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  BenchPart,
  cardinalityScenarios,
  latencyFigures,
  measureConsumeRate,
  measureFastPath,
  measureLatencies,
  rate,
  redriveScenario,
  within,
} from '@omnibus/bench-kit';
// the built package, as users get it (tsx would add name-keeping wrappers to src)
import { createKafkaBus } from '@omnibus/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaPeers } from './kafka-peers.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const part = new BenchPart({
  name: 'kafka',
  title:
    'Omnibus Kafka adapter vs raw kafkajs, @confluentinc/kafka-javascript and @platformatic/kafka (256-byte payloads, same process)',
  peer: 'raw client',
});
const N_AWAITED = part.count('BENCH_AWAITED', 1_000, 150);
const N_BATCHED = part.count('BENCH_PIPELINED', 20_000, 3_000);
const N_CONSUME = part.count('BENCH_CONSUME', 20_000, 3_000);
const N_LATENCY = part.count('BENCH_LATENCY', 500, 200);
const N_REDRIVE = part.count('BENCH_REDRIVE', 10_000, 300);
const N_FAST = part.count('BENCH_AT_MOST_ONCE', 20_000, 3_000);
const N_SUBJECTS = part.count('BENCH_SUBJECTS', 10_000, 1_000);
const payload = Buffer.alloc(256, 7);
const run = Date.now().toString(36);
const prefix = `bench-${run}.`;
const rawTopic = (s: string) => `${prefix}raw-${s}`;
const ROUNDS = part.settings.rounds;

/**
 * The broker's version, which the Kafka protocol does not tell: read from the
 * jars of a local `kafka.Kafka` process (scripts/kafka-local.sh), else unknown.
 */
function kafkaVersion(): string {
  try {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let args: string[];
      try {
        args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      } catch {
        continue;
      }
      if (!args.includes('kafka.Kafka')) continue;
      const classpath = args[args.indexOf('-cp') + 1] ?? '';
      for (const entry of classpath.split(':')) {
        for (const jar of readdirSync(dirname(entry))) {
          const v = /^kafka_[\d.]+-(\d+\.\d+\.\d+)\.jar$/.exec(jar)?.[1];
          if (v) return v;
        }
      }
    }
  } catch {
    // not Linux, or not readable: fall through
  }
  return 'unknown (no local kafka.Kafka process to read it from)';
}

const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await part.require(`Kafka at ${brokers.join(',')}`, async () => {
  const probe = new Kafka({
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { retries: 0 },
  });
  const a = probe.admin();
  await a.connect();
  await a.describeCluster();
  await a.disconnect();
});
part.environment.Kafka = kafkaVersion();
part.environment.brokers = brokers.join(',');
await admin.connect();
// the raw side does what the adapter does: an idempotent producer with acks -1, 3-partition topics
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
// kafkajs's own fire-and-forget path: a plain producer, acks 0
const fastProducer = kafka.producer();
await fastProducer.connect();
const rounds = Array.from({ length: ROUNDS + 1 }, (_, r) => r);
await admin.createTopics({
  waitForLeaders: true,
  topics: [
    'awaited',
    'batched',
    ...['ck', 'pk'].flatMap((c) => [`${c}-awaited`, `${c}-batched`]),
    ...rounds.flatMap((r) => [`backlog${r}`, `latency${r}`, `fast${r}`, `ck-backlog${r}`, `pk-backlog${r}`]),
  ].map((s) => ({
    topic: rawTopic(s),
    numPartitions: 3,
  })),
});
const bus = await createKafkaBus({ brokers, topicPrefix: prefix, groupPrefix: prefix });
let others: Awaited<ReturnType<typeof kafkaPeers>> = { peers: [], missing: [] };
const short = (label: string) => (label.includes('confluent') ? 'ck' : 'pk');

/**
 * A raw consumer group committing each batch's offsets after handling it (the adapter commits
 * after ack). With `joined`, resolves only once the group is joined, as `bus.consume` does.
 */
async function rawConsume(
  topic: string,
  groupId: string,
  onMessage: (value: Buffer) => void,
  joined = false,
) {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250 });
  const join = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
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
  if (joined) await within(join, `raw consumer ${groupId} joining`);
  return async () => void (await consumer.disconnect());
}

/**
 * A set-up step (not measured) that sends to a topic the adapter may just have created: its
 * first send can be refused while the partition leaders settle, so it is tried up to 5 times.
 * (Noted as an adapter issue: a publish to a new topic can fail with UNKNOWN_TOPIC_OR_PARTITION.)
 */
async function setUp(send: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await send();
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

try {
  // the other clients of the client decision, where installed (see kafka-peers.ts)
  others = await kafkaPeers(brokers);
  for (const reason of others.missing) part.notes.push(`Left out as a raw peer: ${reason}.`);
  await setUp(() => bus.publish('awaited.x', payload)); // topic creation outside the measurement
  part.add({
    name: `publish, awaited one by one (${N_AWAITED})`,
    unit: 'msg/s',
    omnibus: async () => {
      const t = performance.now();
      for (let i = 0; i < N_AWAITED; i++) await bus.publish('awaited.x', payload);
      return rate(N_AWAITED, performance.now() - t);
    },
    peers: {
      'raw client': async () => {
        const t = performance.now();
        for (let i = 0; i < N_AWAITED; i++) {
          await producer.send({
            topic: rawTopic('awaited'),
            acks: -1,
            messages: [{ key: 'awaited.x', value: payload }],
          });
        }
        return rate(N_AWAITED, performance.now() - t);
      },
      ...Object.fromEntries(
        others.peers.map((peer) => [
          peer.label,
          async () => {
            const t = performance.now();
            for (let i = 0; i < N_AWAITED; i++)
              await peer.send(rawTopic(`${short(peer.label)}-awaited`), [
                { key: 'awaited.x', value: payload },
              ]);
            return rate(N_AWAITED, performance.now() - t);
          },
        ]),
      ),
    },
  });

  await setUp(() => bus.publish('batched.x', payload));
  part.add({
    name: `publish, batched 1,000 per call (${N_BATCHED})`,
    unit: 'msg/s',
    omnibus: async () => {
      const t = performance.now();
      for (let i = 0; i < N_BATCHED; i += 1000) {
        await bus.publishBatch(Array.from({ length: 1000 }, () => ({ subject: 'batched.x', payload })));
      }
      return rate(N_BATCHED, performance.now() - t);
    },
    peers: {
      'raw client': async () => {
        const t = performance.now();
        for (let i = 0; i < N_BATCHED; i += 1000) {
          await producer.send({
            topic: rawTopic('batched'),
            acks: -1,
            messages: Array.from({ length: 1000 }, () => ({ key: 'batched.x', value: payload })),
          });
        }
        return rate(N_BATCHED, performance.now() - t);
      },
      ...Object.fromEntries(
        others.peers.map((peer) => [
          peer.label,
          async () => {
            const records = Array.from({ length: 1000 }, () => ({ key: 'batched.x', value: payload }));
            const t = performance.now();
            for (let i = 0; i < N_BATCHED; i += 1000)
              await peer.send(rawTopic(`${short(peer.label)}-batched`), records);
            return rate(N_BATCHED, performance.now() - t);
          },
        ]),
      ),
    },
  });

  // over 30 subjects (so every partition has work); a fresh backlog, topic and group each
  // round (publishing it is not timed; joining the group is)
  const backlog = (round: number) =>
    Array.from({ length: N_CONSUME }, (_, i) => ({ subject: `backlog${round}.s${i % 30}`, payload }));
  part.add({
    name: `grouped consume of a backlog with commits (${N_CONSUME})`,
    unit: 'msg/s',
    omnibus: async (round) => {
      const messages = backlog(round);
      for (let i = 0; i < N_CONSUME; i += 1000)
        await setUp(() => bus.publishBatch(messages.slice(i, i + 1000)));
      return measureConsumeRate(
        N_CONSUME,
        async (onMessage) => {
          const c = await bus.consume(`backlog${round}.*`, onMessage, {
            group: 'bench',
            from: 'earliest',
            maxInFlight: 500,
          });
          return () => c.close();
        },
        'omnibus consume',
        120_000,
      );
    },
    peers: {
      'raw client': async (round) => {
        const messages = backlog(round);
        for (let i = 0; i < N_CONSUME; i += 1000) {
          await producer.send({
            topic: rawTopic(`backlog${round}`),
            acks: -1,
            messages: messages.slice(i, i + 1000).map((m) => ({ key: m.subject, value: payload })),
          });
        }
        return measureConsumeRate(
          N_CONSUME,
          (onMessage) => rawConsume(rawTopic(`backlog${round}`), `${prefix}raw-bench${round}`, onMessage),
          'raw consume',
          120_000,
        );
      },
      ...Object.fromEntries(
        others.peers.map((peer) => [
          peer.label,
          async (round: number) => {
            // the same backlog, stored by the peer itself (not timed)
            const topic = rawTopic(`${short(peer.label)}-backlog${round}`);
            // keyed like the adapter's and kafkajs's backlog: 30 subjects over every partition
            const records = backlog(round).map((m) => ({ key: m.subject, value: payload }));
            for (let i = 0; i < N_CONSUME; i += 1000) await peer.send(topic, records.slice(i, i + 1000));
            return peer.consumeRate(topic, `${prefix}${short(peer.label)}-bench${round}`, N_CONSUME);
          },
        ]),
      ),
    },
  });

  part.add({
    name: `publish → deliver latency (${N_LATENCY})`,
    unit: 'ms',
    omnibus: async (round) => {
      const subject = `latency${round}.x`;
      await setUp(() => bus.publish(subject, 'topic creation outside the measurement'));
      const samples = await measureLatencies(
        N_LATENCY,
        async (on) => {
          const c = await bus.consume(subject, (m) => on(Number(m.text())));
          return () => c.close();
        },
        (sentAt) => bus.publish(subject, String(sentAt)),
      );
      return latencyFigures(samples, 3);
    },
    peers: {
      'raw client': async (round) => {
        const topic = rawTopic(`latency${round}`);
        const samples = await measureLatencies(
          N_LATENCY,
          (on) => rawConsume(topic, `${prefix}raw-lat${round}`, (value) => on(Number(String(value))), true),
          (sentAt) =>
            producer.send({ topic, acks: -1, messages: [{ key: 'latency.x', value: String(sentAt) }] }),
        );
        return latencyFigures(samples, 3);
      },
    },
  });

  // at most once: Omnibus queues each publish and sends what gathered as one acks-1 request (no
  // retry); the raw side awaits each acks-0 send, its consumer commits each batch after it
  part.add({
    name: `at most once: publish → consume (${N_FAST})`,
    unit: 'msg/s',
    omnibus: async (round) => {
      const subject = `fast${round}.x`;
      await setUp(() => bus.publish(subject, 'topic creation outside the measurement'));
      return measureFastPath(
        N_FAST,
        async (on) => {
          const c = await bus.consume(subject, on, { delivery: 'at-most-once', maxInFlight: 100_000 });
          return () => c.close();
        },
        () => bus.publish(subject, payload, { delivery: 'at-most-once' }),
      );
    },
    peers: {
      'raw client': (round) => {
        const topic = rawTopic(`fast${round}`);
        return measureFastPath(
          N_FAST,
          (on) => rawConsume(topic, `${prefix}raw-fast${round}`, on, true),
          () => fastProducer.send({ topic, acks: 0, messages: [{ key: 'fast.x', value: payload }] }),
        );
      },
    },
  });

  // where the adapter has the management API (capabilities.management): a redrive of dead letters
  for (const scenario of cardinalityScenarios(bus, {
    subjects: N_SUBJECTS,
    payload,
    note: (line) =>
      part.notes.push(`${line} (One topic per first token, with its retry topic: the subjects share them.)`),
    footprint: async () => ({ topics: (await admin.listTopics()).length }),
  }))
    part.add(scenario);
  if (bus.capabilities.management) part.add(redriveScenario(bus, N_REDRIVE, payload));
  else part.notes.push('No redrive row: this adapter has no management API yet.');
  await part.run();
} finally {
  for (const peer of others.peers) await peer.close().catch(() => undefined);
  await bus.close();
  await producer.disconnect();
  await fastProducer.disconnect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
}
