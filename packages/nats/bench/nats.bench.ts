// Omnibus on NATS vs the raw @nats-io/jetstream client doing the same work, in alternating rounds
// of one run. Bounded: fixed message counts (smaller with --quick / BENCH_QUICK=1), each round
// capped in time. NATS_URL (default nats://127.0.0.1:4222); skipped with a one-line reason when
// the server cannot be reached.
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import {
  BenchPart,
  type BenchRound,
  cardinalityScenarios,
  instrumentedScenario,
  latencyFigures,
  measureConsumeRate,
  measureFastPath,
  measureLatencies,
  rate,
  redriveScenario,
  sampledInstrumentedScenario,
} from '@omnibus/bench-kit';
// the built package, as users get it (tsx would add name-keeping wrappers to src)
import { createNatsBus } from '@omnibus/nats';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const part = new BenchPart({
  name: 'nats',
  title: 'Omnibus NATS adapter vs raw @nats-io/jetstream (256-byte payloads, same process)',
  peer: 'raw client',
});
const N_AWAITED = part.count('BENCH_AWAITED', 2_000, 300);
const N_PIPELINED = part.count('BENCH_PIPELINED', 20_000, 3_000);
const N_CONSUME = part.count('BENCH_CONSUME', 20_000, 3_000);
const N_LATENCY = part.count('BENCH_LATENCY', 1_000, 200);
const N_REDRIVE = part.count('BENCH_REDRIVE', 10_000, 300);
const N_CORE = part.count('BENCH_CORE', 50_000, 5_000);
const N_SUBJECTS = part.count('BENCH_SUBJECTS', 10_000, 1_000);
const payload = new Uint8Array(256).fill(7);
const run = Date.now().toString(36);
const rawStream = `BENCH_RAW_${run}`;
const prefix = `BENCH_OMNI_${run}`;
const rawSubject = (s: string) => `braw${run}.${s}`;
const omniSubject = (s: string) => `bomni${run}.${s}`;

const nc = await part.require(`NATS at ${url}`, () => connect({ servers: url, timeout: 5_000 }));
part.environment['nats-server'] = nc.info?.version ?? 'unknown';
part.environment.URL = url;
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
await jsm.streams.add({ name: rawStream, subjects: [`braw${run}.>`] });
const bus = await createNatsBus({ url, streamPrefix: prefix });

try {
  part.add({
    name: `publish, awaited one by one (${N_AWAITED})`,
    unit: 'msg/s',
    omnibus: async () => {
      const t = performance.now();
      for (let i = 0; i < N_AWAITED; i++) await bus.publish(omniSubject('awaited'), payload);
      return rate(N_AWAITED, performance.now() - t);
    },
    peers: {
      'raw client': async () => {
        const t = performance.now();
        for (let i = 0; i < N_AWAITED; i++) await js.publish(rawSubject('awaited'), payload);
        return rate(N_AWAITED, performance.now() - t);
      },
    },
  });

  part.add({
    name: `publish, pipelined in batches of 1,000 (${N_PIPELINED})`,
    unit: 'msg/s',
    omnibus: async () => {
      const t = performance.now();
      for (let i = 0; i < N_PIPELINED; i += 1000) {
        await bus.publishBatch(
          Array.from({ length: 1000 }, () => ({ subject: omniSubject('pipelined'), payload })),
        );
      }
      return rate(N_PIPELINED, performance.now() - t);
    },
    peers: {
      'raw client': async () => {
        const t = performance.now();
        for (let i = 0; i < N_PIPELINED; i += 1000) {
          await Promise.all(Array.from({ length: 1000 }, () => js.publish(rawSubject('pipelined'), payload)));
        }
        return rate(N_PIPELINED, performance.now() - t);
      },
    },
  });

  // a fresh backlog and group each round (publishing it is not timed)
  const rawGroupedConsume: BenchRound = async (round) => {
    const subject = rawSubject(`backlog${round}`);
    await Promise.all(Array.from({ length: N_CONSUME }, () => js.publish(subject, payload)));
    await jsm.consumers.add(rawStream, {
      durable_name: `bench${round}`,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: subject,
    });
    return measureConsumeRate(
      N_CONSUME,
      async (onMessage) => {
        const raw = await (await js.consumers.get(rawStream, `bench${round}`)).consume({
          max_messages: 500,
        });
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
  };
  const groupedConsume: BenchRound = async (round) => {
    const subject = omniSubject(`backlog${round}`);
    for (let i = 0; i < N_CONSUME; i += 1000) {
      await bus.publishBatch(
        Array.from({ length: Math.min(1000, N_CONSUME - i) }, () => ({ subject, payload })),
      );
    }
    return measureConsumeRate(
      N_CONSUME,
      async (onMessage) => {
        const c = await bus.consume(subject, onMessage, {
          group: `bench${round}`,
          from: 'earliest',
          maxInFlight: 500,
        });
        return () => c.close();
      },
      'omnibus consume',
    );
  };
  part.add({
    name: `grouped consume of a backlog with acks (${N_CONSUME})`,
    unit: 'msg/s',
    omnibus: groupedConsume,
    peers: {
      'raw client': rawGroupedConsume,
    },
  });
  const enc = new TextEncoder();
  part.add({
    name: `publish → deliver latency (${N_LATENCY})`,
    unit: 'ms',
    omnibus: async () =>
      latencyFigures(
        await measureLatencies(
          N_LATENCY,
          async (on) => {
            const c = await bus.consume(omniSubject('latency'), (m) => on(Number(m.text())));
            return () => c.close();
          },
          (sentAt) => bus.publish(omniSubject('latency'), String(sentAt)),
        ),
        3,
      ),
    peers: {
      'raw client': async (round) => {
        await jsm.consumers.add(rawStream, {
          durable_name: `lat${round}`,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.New,
          filter_subject: rawSubject('latency'),
        });
        const samples = await measureLatencies(
          N_LATENCY,
          async (on) => {
            const msgs = await (await js.consumers.get(rawStream, `lat${round}`)).consume({
              max_messages: 100,
            });
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
        return latencyFigures(samples, 3);
      },
    },
  });

  // at most once: core NATS on both sides, on subjects no stream covers (nothing stored)
  const fastPath = (listen: Parameters<typeof measureFastPath>[1], send: () => unknown) =>
    measureFastPath(N_CORE, listen, send);
  part.add({
    name: `at most once: publish → consume (${N_CORE})`,
    unit: 'msg/s',
    omnibus: () =>
      fastPath(
        async (on) => {
          const c = await bus.consume(`core${run}.omni`, on, {
            delivery: 'at-most-once',
            maxInFlight: 100_000,
          });
          return () => c.close();
        },
        () => bus.publish(`core${run}.omni`, payload, { delivery: 'at-most-once' }),
      ),
    peers: {
      'raw client': () =>
        fastPath(
          async (on) => {
            const sub = nc.subscribe(`core${run}.raw`, { callback: () => on() });
            await nc.flush();
            return async () => sub.unsubscribe();
          },
          () => nc.publish(`core${run}.raw`, payload),
        ),
      // the same work as Omnibus: each message carries an id and its publish time, read on arrival
      'raw client, id + time headers': () => {
        let n = 0;
        return fastPath(
          async (on) => {
            const sub = nc.subscribe(`core${run}.rawh`, {
              callback: (_, m) => {
                m.headers?.get('x-id');
                on();
              },
            });
            await nc.flush();
            return async () => sub.unsubscribe();
          },
          () => {
            const h = headers();
            h.set('x-id', `${run}-${n++}`);
            h.set('x-at', String(Date.now()));
            nc.publish(`core${run}.rawh`, payload, { headers: h });
          },
        );
      },
    },
  });

  // where the adapter has the management API (capabilities.management): a redrive of dead letters
  for (const scenario of cardinalityScenarios(bus, {
    subjects: N_SUBJECTS,
    payload,
    note: (line) => part.notes.push(`${line} (One stream per first token: the subjects share one.)`),
    footprint: async () => {
      const info = await jsm.getAccountInfo();
      return { streams: info.streams, consumers: info.consumers, 'bytes stored': info.storage + info.memory };
    },
  }))
    part.add(scenario);
  if (bus.capabilities.management) part.add(redriveScenario(bus, N_REDRIVE, payload));
  else part.notes.push('No redrive row: this adapter has no management API yet.');
  // what tracing costs: the same round with @omnibus/otel on (#21); rounds of their own (names apart).
  // Last: an SDK's context manager stays enabled for the rest of the process (it slows what follows)
  part.add(
    instrumentedScenario(`grouped consume of a backlog with acks (${N_CONSUME})`, 'msg/s', (round) =>
      groupedConsume(1_000 + round),
    ),
  );
  part.add(
    sampledInstrumentedScenario(
      `grouped consume of a backlog with acks (${N_CONSUME})`,
      'msg/s',
      0.1,
      (round) => groupedConsume(2_000 + round),
    ),
  );
  await part.run();
} finally {
  await bus.close();
  for (const s of [rawStream, ...bus.createdStreams]) await jsm.streams.delete(s).catch(() => false);
  await nc.close();
}
