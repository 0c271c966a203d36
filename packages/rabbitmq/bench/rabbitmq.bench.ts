// Omnibus on RabbitMQ vs raw rabbitmq-client doing the same work, in alternating rounds of one
// run: persistent messages with publisher confirms, a durable queue of the bus's type, manual acks.
// BENCH_QUEUE_TYPE=quorum measures both sides on quorum queues (default: classic, the bus's default).
// Bounded: fixed message counts (smaller with --quick / BENCH_QUICK=1), each round capped in
// time. RABBITMQ_URL (default amqp://guest:guest@127.0.0.1:5672); skipped with a one-line reason
// when the broker cannot be reached.
// the built package, as users get it (tsx would add name-keeping wrappers to src)

import {
  BenchPart,
  cardinalityGroups,
  cardinalityScenarios,
  latencyFigures,
  measureConsumeRate,
  measureLatencies,
  rate,
} from '@omnibus/bench-kit';
import { createRabbitMqBus } from '@omnibus/rabbitmq';
import { Connection } from 'rabbitmq-client';

const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const part = new BenchPart({
  name: 'rabbitmq',
  title: 'Omnibus RabbitMQ adapter vs raw rabbitmq-client (256-byte payloads, same process)',
  peer: 'raw client',
});
const N_AWAITED = part.count('BENCH_AWAITED', 3_000, 300);
const N_PIPELINED = part.count('BENCH_PIPELINED', 20_000, 2_000);
const N_CONSUME = part.count('BENCH_CONSUME', 20_000, 2_000);
const N_LATENCY = part.count('BENCH_LATENCY', 1_000, 200);
const N_SUBJECTS = part.count('BENCH_SUBJECTS', 10_000, 1_000);
const payload = Buffer.alloc(256, 7);
const queueType = process.env.BENCH_QUEUE_TYPE === 'quorum' ? 'quorum' : 'classic';
const run = `bench-${Date.now().toString(36)}`;
const rawExchange = `${run}-raw`;
const rawQueue = (name: string) => `${run}-raw.${name}`;

const version = await part.require(`RabbitMQ at ${url.replace(/\/\/[^@]*@/, '//')}`, async () => {
  const probe = new Connection({ url, retryHigh: 200 });
  try {
    await probe.onConnect(3_000);
    return 'reachable';
  } finally {
    await probe.close();
  }
});
part.environment.RabbitMQ = version;
part.environment['queue type'] = queueType;
const connection = new Connection({ url, noDelay: true }); // as the adapter sets it
await connection.onConnect(5_000);
const publisher = connection.createPublisher({ confirm: true, maxAttempts: 2 });
await connection.exchangeDeclare({ exchange: rawExchange, type: 'topic', durable: true });
const bus = await createRabbitMqBus({ url, exchange: run, queuePrefix: `${run}.`, queueType });
const declared: string[] = [];

/** A durable queue of the bus's type bound on the raw exchange, as the adapter makes for a group. */
async function rawGroupQueue(name: string, routingKey: string): Promise<string> {
  const queue = rawQueue(name);
  await connection.queueDeclare({ queue, durable: true, arguments: { 'x-queue-type': queueType } });
  await connection.queueBind({ queue, exchange: rawExchange, routingKey });
  declared.push(queue);
  return queue;
}

/** The raw client's consumer: prefetch `prefetch`, one ack per message. */
async function rawConsume(queue: string, prefetch: number, onBody: (body: Buffer) => void) {
  const channel = await connection.acquire();
  await channel.basicQos({ prefetchCount: prefetch });
  const { consumerTag } = await channel.basicConsume({ queue }, (m) => {
    channel.basicAck({ deliveryTag: m.deliveryTag });
    onBody(m.body as Buffer);
  });
  return async () => {
    await channel.basicCancel({ consumerTag });
    await channel.close();
  };
}

// the same work as the adapter: a persistent message with an id and its publish time (ms)
let sent = 0;
const send = (routingKey: string, body: Buffer) =>
  publisher.send(
    {
      exchange: rawExchange,
      routingKey,
      durable: true,
      messageId: `${run}-${sent++}`,
      headers: { 'published-at': String(Date.now()) },
    },
    body,
  );

// every publish is stored: a group's queue is bound for each subject on both sides
for (const subject of ['bench.awaited', 'bench.pipelined']) {
  const name = subject.replace('bench.', 'sink-');
  await (await bus.subscribe(subject, { group: name })).close();
  declared.push(`${run}.group.${name}`);
  await rawGroupQueue(name, subject);
}

try {
  part.add({
    name: `publish with confirm, awaited one by one (${N_AWAITED})`,
    unit: 'msg/s',
    omnibus: async () => {
      const t = performance.now();
      for (let i = 0; i < N_AWAITED; i++) await bus.publish('bench.awaited', payload);
      return rate(N_AWAITED, performance.now() - t);
    },
    peers: {
      'raw client': async () => {
        const t = performance.now();
        for (let i = 0; i < N_AWAITED; i++) await send('bench.awaited', payload);
        return rate(N_AWAITED, performance.now() - t);
      },
    },
  });

  part.add({
    name: `publish with confirms, pipelined in batches of 1,000 (${N_PIPELINED})`,
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
          await Promise.all(Array.from({ length: 1000 }, () => send('bench.pipelined', payload)));
        }
        return rate(N_PIPELINED, performance.now() - t);
      },
    },
  });

  // a group's queue with a backlog; consumed with prefetch 500 and an ack per message
  part.add({
    name: `grouped consume of a backlog with acks (${N_CONSUME})`,
    unit: 'msg/s',
    omnibus: async (round) => {
      const subject = `bench.backlog${round}`;
      const group = `backlog${round}`;
      const first = await bus.subscribe(subject, { group }); // the group's queue exists from here
      await first.close();
      for (let i = 0; i < N_CONSUME; i += 1000) {
        await bus.publishBatch(
          Array.from({ length: Math.min(1000, N_CONSUME - i) }, () => ({ subject, payload })),
        );
      }
      declared.push(`${run}.group.${group}`);
      return measureConsumeRate(
        N_CONSUME,
        async (onMessage) => {
          const c = await bus.consume(subject, onMessage, { group, maxInFlight: 500 });
          return () => c.close();
        },
        'omnibus consume',
      );
    },
    peers: {
      'raw client': async (round) => {
        const routingKey = `bench.backlog${round}`;
        const queue = await rawGroupQueue(`backlog${round}`, routingKey);
        for (let i = 0; i < N_CONSUME; i += 1000) {
          await Promise.all(
            Array.from({ length: Math.min(1000, N_CONSUME - i) }, () => send(routingKey, payload)),
          );
        }
        return measureConsumeRate(
          N_CONSUME,
          (onMessage) => rawConsume(queue, 500, () => onMessage()),
          'raw consume',
        );
      },
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
            const c = await bus.consume('bench.latency', (m) => on(Number(m.text())), { group: 'latency' });
            return () => c.close();
          },
          (sentAt) => bus.publish('bench.latency', String(sentAt)),
        ),
        3,
      ),
    peers: {
      'raw client': async (round) => {
        const queue = await rawGroupQueue(`latency${round}`, 'bench.latency');
        const samples = await measureLatencies(
          N_LATENCY,
          async (on) => rawConsume(queue, 100, (body) => on(Number(body.toString()))),
          (sentAt) => send('bench.latency', Buffer.from(String(sentAt))),
        );
        return latencyFigures(samples, 3);
      },
    },
  });
  declared.push(`${run}.group.latency`);

  // a wildcard group is one queue bound to the pattern: subjects are routing keys, no object each
  for (const scenario of cardinalityScenarios(bus, {
    subjects: N_SUBJECTS,
    payload,
    note: (line) => part.notes.push(line),
  }))
    part.add(scenario);
  for (let round = 0; round <= part.settings.rounds + 1; round++)
    for (const group of cardinalityGroups(round)) declared.push(`${run}.group.${group}`);

  part.notes.push(
    `Both sides publish persistent messages and wait for publisher confirms; consumers ack each message; both sides use durable ${queueType} queues. No redrive row: this adapter has no management API yet.`,
  );
  await part.run();
} finally {
  await bus.close();
  for (const queue of declared) await connection.queueDelete({ queue }).catch(() => undefined);
  for (const exchange of [run, rawExchange])
    await connection.exchangeDelete({ exchange }).catch(() => undefined);
  await publisher.close();
  await connection.close();
}
