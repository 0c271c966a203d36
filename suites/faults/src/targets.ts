import { type EventBus, silentLogger } from '@omnibus/core';
import { createKafkaBus } from '@omnibus/kafka';
import { createMemoryBus } from '@omnibus/memory';
import { createNatsBus } from '@omnibus/nats';
import { createRedisBus } from '@omnibus/redis';
import { startLocalKafka, startLocalNats, startLocalRedis } from '@omnibus/testing';

/** One backend as a fault scenario sees it: buses, and a broker it may kill and start again. */
export interface Target {
  readonly backend: string;
  /** False for the in-process bus: there is no broker to restart. */
  readonly hasBroker: boolean;
  /** `OMNIBUS_URL` of the broker, for a member in another process (undefined for memory). */
  readonly url?: string;
  createBus(): Promise<EventBus>;
  /** Kills the broker process (SIGKILL) this target started. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  dispose(): Promise<void>;
}

/** The in-process bus (one shared instance: every "bus" of the scenario is the same process). */
export async function memoryTarget(): Promise<Target> {
  const bus = createMemoryBus({ logger: silentLogger, maxBuffered: 1_000 });
  const shared = Object.assign(Object.create(bus) as EventBus, { close: async () => undefined });
  return {
    backend: 'memory',
    hasBroker: false,
    createBus: async () => shared,
    kill: async () => undefined,
    start: async () => undefined,
    dispose: () => bus.close(),
  };
}

/** A broker process the suite started: killed and started again by its PID. */
function brokerTarget(
  backend: string,
  url: string,
  broker: { kill(): Promise<void>; restart(): Promise<void>; dispose(): Promise<void> },
  createBus: () => Promise<EventBus>,
): Target {
  return {
    backend,
    url,
    hasBroker: true,
    createBus,
    kill: () => broker.kill(),
    start: () => broker.restart(),
    dispose: () => broker.dispose(),
  };
}

/** nats-server with JetStream (file storage) on a spare port. */
export async function natsTarget(): Promise<Target> {
  const server = await startLocalNats();
  return brokerTarget('nats', server.url, server, () =>
    createNatsBus({ url: server.url, logger: silentLogger, publishTimeoutMs: 20_000 }),
  );
}

/** redis-server with AOF (fsync always) on a spare port. */
export async function redisTarget(): Promise<Target> {
  const server = await startLocalRedis({ aof: true });
  return brokerTarget('redis', server.url, server, () =>
    createRedisBus({ url: server.url, logger: silentLogger, publishTimeoutMs: 20_000 }),
  );
}

/** A single-node Kafka started with scripts/kafka-local.sh on spare ports. */
export async function kafkaTarget(): Promise<Target> {
  const kafka = await startLocalKafka();
  return brokerTarget('kafka', `kafka://${kafka.brokers.join(',')}`, kafka, () =>
    createKafkaBus({ brokers: kafka.brokers, logger: silentLogger, connectTimeoutMs: 30_000 }),
  );
}
