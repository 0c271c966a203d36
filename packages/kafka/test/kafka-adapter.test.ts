import { createServer, type Socket } from 'node:net';
import { ConfigError, ConnectionError, type EventBus, type Message } from '@omnibus/core';
import { reader, startLocalKafka as startKafka, waitFor, withBroker } from '@omnibus/testing';
import { afterAll, afterEach, expect, it } from 'vitest';
import { ErrorCodes, Kafka, logLevel } from '../src/client.js';
import { createKafkaBus, type KafkaBusOptions } from '../src/index.js';
import { resolveKafkaOptions } from '../src/options.js';
import { TopicRegistry } from '../src/topics.js';
import { deleteTopics } from './kafka-admin.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

it('an unreachable broker fails with a ConnectionError without the credentials', async () => {
  const error = await createKafkaBus({
    url: 'kafka://alice:pw-secret-1@127.0.0.1:1',
    connectTimeoutMs: 2_000,
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectionError);
  const text = JSON.stringify(error, Object.getOwnPropertyNames(error as object));
  expect(text).not.toContain('pw-secret-1');
  expect(String((error as Error).stack)).not.toContain('pw-secret-1');
  expect((error as Error).message).toContain('127.0.0.1:1');
});

it('a broker that accepts the connection and never answers fails within connectTimeoutMs, not the 30 s request timeout', async () => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });
  const { port } = silent.address() as { port: number };
  const started = Date.now();
  const error = await createKafkaBus({ url: `kafka://127.0.0.1:${port}`, connectTimeoutMs: 1_000 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectionError);
  expect(Date.now() - started).toBeLessThan(4_000);
});

it('bad options are ConfigErrors naming the field', async () => {
  await expect(createKafkaBus({ url: 'kafka://no-port' })).rejects.toBeInstanceOf(ConfigError);
  await expect(createKafkaBus({ topicPrefix: 'bad prefix' })).rejects.toBeInstanceOf(ConfigError);
  // biome-ignore lint/suspicious/noExplicitAny: a typo a JavaScript caller can make
  await expect(createKafkaBus({ topicPrefx: 'x' } as any)).rejects.toThrow(/topicPrefx/);
});

it('a new topic that the broker asked does not know yet (a cluster catching up) is waited for, not a failure', async () => {
  let asked = 0;
  const notYet = Object.assign(new Error('Broker: Unknown topic or partition'), {
    code: ErrorCodes.ERR_UNKNOWN_TOPIC_OR_PART,
  });
  const admin = {
    createTopics: async () => true,
    fetchTopicMetadata: async ({ topics }: { topics: string[] }) => {
      asked++;
      if (asked <= 2) throw notYet; // as brokers of a cluster answer before they caught up
      const leader = asked === 3 ? -1 : 1; // then known, but not led yet
      return topics.map((name) => ({ name, partitions: [{ partitionId: 0, leader }] }));
    },
  };
  const registry = new TopicRegistry(admin as never, resolveKafkaOptions({ brokers: ['127.0.0.1:1'] }));
  await registry.ensure('omnibus.orders');
  expect(asked).toBe(4);
});

await withBroker('kafka', (broker) => {
  const prefix = `omnibus-adapter-${Date.now().toString(36)}.`;
  afterAll(() => deleteTopics([...broker.brokers], prefix));

  async function bus(options: KafkaBusOptions = {}): Promise<EventBus> {
    const b = await createKafkaBus({
      brokers: [...broker.brokers],
      topicPrefix: prefix,
      groupPrefix: prefix,
      ...options,
    });
    cleanups.push(() => b.close({ timeoutMs: 2_000 }));
    return b;
  }

  it('a delayed nak waits in the retry topic while later messages on the same partition keep flowing', async () => {
    const b = await bus();
    const r = reader(await b.subscribe('jobs.one', { ack: 'manual', group: 'slow' }), 20_000);
    for (let i = 0; i < 10; i++) await b.publish('jobs.one', String(i));
    const first = await r.next();
    expect(first.text()).toBe('0');
    const nakAt = Date.now();
    await first.nak({ delayMs: 2_000 });
    const flowing: string[] = [];
    for (let i = 0; i < 9; i++) {
      const m = await r.next();
      flowing.push(m.text());
      await m.ack();
    }
    expect(flowing).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(Date.now() - nakAt).toBeLessThan(2_000); // none of them waited for the delay
    const again = await r.next();
    expect(again.text()).toBe('0');
    expect(again.attempt).toBe(2);
    expect(Date.now() - nakAt).toBeGreaterThanOrEqual(1_990);
    await again.ack();
  });

  it('a group member leaves mid-stream (rebalance): the rest continue and nothing is lost', async () => {
    const b = await bus();
    const handled = new Map<string, number>();
    const handler = async (m: Message) => {
      handled.set(m.text(), (handled.get(m.text()) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, 2));
    };
    const leaving = await b.consume('load.*', handler, { group: 'rebalance', maxInFlight: 10 });
    const staying = await b.consume('load.*', handler, { group: 'rebalance', maxInFlight: 10 });
    cleanups.push(() => staying.close());
    const all = Array.from({ length: 600 }, (_, i) => String(i));
    const publishing = (async () => {
      for (const v of all) await b.publish(`load.s${Number(v) % 30}`, v);
    })();
    await waitFor(() => handled.size >= 150, '150 handled messages', 30_000);
    await leaving.close();
    await publishing;
    await waitFor(() => all.every((v) => handled.has(v)), 'every message handled', 60_000);
    const duplicates = [...handled.values()].filter((n) => n > 1).length;
    // a clean leave commits what was acked: duplicates come only from a rebalance racing a commit
    expect(duplicates).toBeLessThan(50);
  }, 120_000);

  it('topics: auto-created with 3 partitions; a pre-created one is used; a different explicit setting is a ConfigError', async () => {
    const admin = new Kafka({
      kafkaJS: { brokers: [...broker.brokers], logLevel: logLevel.NOTHING },
    }).admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const auto = await bus();
    const r = reader(await auto.subscribe('autotopic.x'), 20_000);
    await auto.publish('autotopic.x', 'auto');
    expect((await r.next()).text()).toBe('auto');
    const [meta] = await admin.fetchTopicMetadata({ topics: [`${prefix}autotopic`] });
    expect(meta?.partitions).toHaveLength(3);

    await admin.createTopics({
      topics: [`${prefix}precreated`, `${prefix}precreated.omnibus-retry`].map((topic) => ({
        topic,
        numPartitions: 2,
      })),
    });
    const matching = await bus({ topics: { numPartitions: 2 } });
    const r2 = reader(await matching.subscribe('precreated.x'), 20_000);
    await matching.publish('precreated.x', 'pre');
    expect((await r2.next()).text()).toBe('pre');
    const conflicting = await bus({ topics: { numPartitions: 5 } });
    const conflict = await conflicting.publish('precreated.y', 'x').catch((e: ConfigError) => e);
    expect(conflict).toBeInstanceOf(ConfigError);
    expect((conflict as ConfigError).hint).toContain('kafka-topics.sh --alter');
  });

  it("an ungrouped subscription's own consumer group is deleted on close; a named group outlives its members", async () => {
    const b = await bus();
    const own = await b.subscribe('cleanup.x');
    const named = await b.subscribe('cleanup.x', { group: 'keeper' });
    const admin = new Kafka({
      kafkaJS: { brokers: [...broker.brokers], logLevel: logLevel.NOTHING },
    }).admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const groups = async () =>
      (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    const before = await groups();
    expect(before).toContain(`${prefix}keeper`);
    expect(before.filter((g) => g.startsWith(`${prefix}sub-`))).toHaveLength(1);
    await own.close();
    await named.close();
    await b.close();
    const after = await groups();
    expect(after.filter((g) => g.startsWith(`${prefix}sub-`))).toEqual([]);
    expect(after).toContain(`${prefix}keeper`);
  });

  it('a wildcard subscription receives a subject first published (on a new topic) after it started', async () => {
    const subscriber = await bus({ topicDiscoveryMs: 300 });
    const r = reader(await subscriber.subscribe('*.created'), 30_000);
    const publisher = await bus(); // another process, as far as the subscriber can tell
    await publisher.publish(`fresh${Date.now().toString(36)}.created`, 'new topic');
    await publisher.publish('fresh.updated', 'not matching');
    const m = await r.next();
    expect(m.text()).toBe('new topic');
    expect(m.subject).toMatch(/^fresh.*\.created$/);
    expect(await r.nothingWithin(500)).toBeUndefined();
  });
});

it('the broker restarted under load: every acknowledged publish arrives', async () => {
  const kafka = await startKafka();
  cleanups.push(() => kafka.dispose());
  const logged: string[] = [];
  const b = await createKafkaBus({
    brokers: kafka.brokers,
    connectTimeoutMs: 30_000,
    logger: { warn: (line) => logged.push(line) },
  });
  cleanups.push(() => b.close({ timeoutMs: 5_000 }));
  const got = new Set<string>();
  const consumer = await b.consume('restart.*', (m) => void got.add(m.text()), { group: 'survivors' });
  cleanups.push(() => consumer.close());
  const acknowledged: string[] = [];
  let rejected = 0;
  for (let i = 0; i < 300; i++) {
    if (i === 100) {
      await kafka.kill();
      setTimeout(() => void kafka.restart(), 2_000);
    }
    try {
      await b.publish(`restart.s${i % 5}`, String(i));
      acknowledged.push(String(i));
    } catch {
      rejected++;
    }
  }
  await waitFor(() => acknowledged.every((v) => got.has(v)), 'every acknowledged message', 90_000);
  expect(acknowledged.length + rejected).toBe(300);
  expect(acknowledged.length).toBeGreaterThan(100);
  expect(logged.some((l) => /\[omnibus:kafka\] connection lost/.test(l))).toBe(true);
  expect(logged.some((l) => /\[omnibus:kafka\] connection restored/.test(l))).toBe(true);
  expect((await b.health()).ok).toBe(true);
}, 240_000);

it('a paused broker (SIGSTOP for 8 s): a bus that only consumes reports the loss and the recovery, and goes on receiving', async () => {
  const kafka = await startKafka();
  cleanups.push(() => kafka.dispose());
  const statuses: { at: number; type: string; connection?: string }[] = [];
  const consumerBus = await createKafkaBus({
    brokers: kafka.brokers,
    connectTimeoutMs: 30_000,
    onStatus: (s) => statuses.push({ at: Date.now(), type: s.type, connection: s.connection }),
  });
  cleanups.push(() => consumerBus.close({ timeoutMs: 5_000 }));
  const r = reader(await consumerBus.subscribe('frozen.x', { group: 'thawed' }), 60_000);
  const publisher = await createKafkaBus({ brokers: kafka.brokers, connectTimeoutMs: 30_000 });
  cleanups.push(() => publisher.close({ timeoutMs: 5_000 }));
  await publisher.publish('frozen.x', 'before');
  expect((await r.next()).text()).toBe('before');

  const pausedAt = Date.now();
  kafka.pause(true);
  await new Promise((resolve) => setTimeout(resolve, 8_000));
  kafka.pause(false);
  const thawedAt = Date.now();
  await waitFor(
    () => statuses.some((s) => s.connection === 'restored' && s.at >= thawedAt),
    "'restored' after the thaw",
    30_000,
  );
  const lost = statuses.find((s) => s.connection === 'lost' && s.at >= pausedAt);
  expect(lost?.type).toBe('unresponsive');
  expect(lost && lost.at < thawedAt).toBe(true);
  expect((await consumerBus.health()).connectionLost).toBe(false);
  await publisher.publish('frozen.x', 'after');
  expect((await r.next()).text()).toBe('after');
}, 180_000);

it('SASL/PLAIN from the URL works; a wrong password is a ConnectionError that never shows it', async () => {
  const kafka = await startKafka({ saslPlain: 'alice:alice-kafka-secret' });
  cleanups.push(() => kafka.dispose());
  const b = await createKafkaBus({
    url: `kafka://alice:alice-kafka-secret@127.0.0.1:${kafka.port}`,
    connectTimeoutMs: 30_000,
  });
  cleanups.push(() => b.close({ timeoutMs: 5_000 }));
  const r = reader(await b.subscribe('secure.x'), 30_000);
  await b.publish('secure.x', 'authenticated');
  expect((await r.next()).text()).toBe('authenticated');
  const statuses: string[] = [];
  const error = await createKafkaBus({
    url: `kafka://alice:wrong-kafka-secret@127.0.0.1:${kafka.port}`,
    connectTimeoutMs: 10_000,
    onStatus: (s) => statuses.push(JSON.stringify(s)),
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectionError);
  expect((error as ConnectionError).hint).toContain('check the credentials');
  const everything = [
    JSON.stringify(error, Object.getOwnPropertyNames(error as object)),
    String((error as Error).stack),
    ...statuses,
  ].join('\n');
  expect(everything).not.toContain('wrong-kafka-secret');
  expect(everything).not.toContain('alice-kafka-secret');
}, 180_000);
