// Omnibus on NATS vs the raw @nats-io/jetstream client doing the same work, in the same run.
// Bounded: fixed message counts, each phase capped in time. NATS_URL (default nats://127.0.0.1:4222).
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
// the built package, as users get it (tsx would add name-keeping wrappers to src)
import { createNatsBus } from '@omnibus/nats';
import {
  type BenchRow,
  latencyRows,
  measureConsumeRate,
  measureLatencies,
  rate,
  reportBenchmark,
} from '@omnibus/testing';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const N_AWAITED = Number(process.env.BENCH_AWAITED ?? 2_000);
const N_PIPELINED = Number(process.env.BENCH_PIPELINED ?? 20_000);
const N_CONSUME = Number(process.env.BENCH_CONSUME ?? 20_000);
const N_LATENCY = Number(process.env.BENCH_LATENCY ?? 1_000);
const payload = new Uint8Array(256).fill(7);
const run = Date.now().toString(36);
const rawStream = `BENCH_RAW_${run}`;
const prefix = `BENCH_OMNI_${run}`;
const rawSubject = (s: string) => `braw${run}.${s}`;
const omniSubject = (s: string) => `bomni${run}.${s}`;

const rows: BenchRow[] = [];

const nc = await connect({ servers: url });
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
await jsm.streams.add({ name: rawStream, subjects: [`braw${run}.>`] });
const bus = await createNatsBus({ url, streamPrefix: prefix });

try {
  // 1. awaited publishes
  let t = performance.now();
  for (let i = 0; i < N_AWAITED; i++) await bus.publish(omniSubject('awaited'), payload);
  const omniAwaited = rate(N_AWAITED, performance.now() - t);
  t = performance.now();
  for (let i = 0; i < N_AWAITED; i++) await js.publish(rawSubject('awaited'), payload);
  rows.push({
    scenario: `publish, awaited one by one (${N_AWAITED})`,
    omnibus: omniAwaited,
    peer: rate(N_AWAITED, performance.now() - t),
    unit: 'msg/s',
  });

  // 2. pipelined publishes, in batches of 1,000
  t = performance.now();
  for (let i = 0; i < N_PIPELINED; i += 1000) {
    await bus.publishBatch(
      Array.from({ length: 1000 }, () => ({ subject: omniSubject('pipelined'), payload })),
    );
  }
  const omniPipelined = rate(N_PIPELINED, performance.now() - t);
  t = performance.now();
  for (let i = 0; i < N_PIPELINED; i += 1000) {
    await Promise.all(Array.from({ length: 1000 }, () => js.publish(rawSubject('pipelined'), payload)));
  }
  rows.push({
    scenario: `publish, pipelined (${N_PIPELINED})`,
    omnibus: omniPipelined,
    peer: rate(N_PIPELINED, performance.now() - t),
    unit: 'msg/s',
  });

  // 3. consume throughput over a backlog, with explicit acks
  await bus.publishBatch(
    Array.from({ length: N_CONSUME }, () => ({ subject: omniSubject('backlog'), payload })),
  );
  await Promise.all(Array.from({ length: N_CONSUME }, () => js.publish(rawSubject('backlog'), payload)));
  const omniConsume = await measureConsumeRate(
    N_CONSUME,
    async (onMessage) => {
      const c = await bus.consume(omniSubject('backlog'), onMessage, {
        group: 'bench',
        from: 'earliest',
        maxInFlight: 500,
      });
      return () => c.close();
    },
    'omnibus consume',
  );
  await jsm.consumers.add(rawStream, {
    durable_name: 'bench',
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: rawSubject('backlog'),
  });
  const rawConsumeRate = await measureConsumeRate(
    N_CONSUME,
    async (onMessage) => {
      const raw = await (await js.consumers.get(rawStream, 'bench')).consume({ max_messages: 500 });
      void (async () => {
        // the same work as consume() with auto ack: ack each message, up to 500 pulled at once
        for await (const m of raw) {
          m.ack();
          onMessage();
        }
      })();
      return () => raw.close();
    },
    'raw consume',
  );
  rows.push({
    scenario: `consume a backlog with acks (${N_CONSUME})`,
    omnibus: omniConsume,
    peer: rawConsumeRate,
    unit: 'msg/s',
  });

  // 4. publish → deliver latency, one message at a time
  const enc = new TextEncoder();
  const omniLat = await measureLatencies(
    N_LATENCY,
    async (on) => {
      const c = await bus.consume(omniSubject('latency'), (m) => on(Number(m.text())));
      return () => c.close();
    },
    (sentAt) => bus.publish(omniSubject('latency'), String(sentAt)),
  );
  await jsm.consumers.add(rawStream, {
    durable_name: 'lat',
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    filter_subject: rawSubject('latency'),
  });
  const rawLat = await measureLatencies(
    N_LATENCY,
    async (on) => {
      const msgs = await (await js.consumers.get(rawStream, 'lat')).consume({ max_messages: 100 });
      void (async () => {
        for await (const m of msgs) {
          on(Number(m.string()));
          m.ack();
        }
      })();
      return async () => void (await msgs.close());
    },
    (sentAt) => js.publish(rawSubject('latency'), enc.encode(String(sentAt))),
  );
  rows.push(...latencyRows('publish → deliver latency', omniLat, rawLat));
} finally {
  await bus.close();
  for (const s of [rawStream, ...bus.createdStreams]) await jsm.streams.delete(s).catch(() => false);
  await nc.close();
}

reportBenchmark({
  name: 'nats',
  title: `Omnibus NATS adapter vs raw @nats-io/jetstream (${url}, 256-byte payloads, same process, same run)`,
  peer: 'raw client',
  rows,
});
