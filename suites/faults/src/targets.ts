import { type BusStatus, type EventBus, type Logger, silentLogger } from '@omnibus/core';
import { createKafkaBus } from '@omnibus/kafka';
import { createMemoryBus } from '@omnibus/memory';
import { createNatsBus } from '@omnibus/nats';
import { createRabbitMqBus } from '@omnibus/rabbitmq';
import { createRedisBus } from '@omnibus/redis';
import {
  type LocalRabbitMq,
  startLocalKafka,
  startLocalNats,
  startLocalRabbitMq,
  startLocalRedis,
} from '@omnibus/testing';
import { Redis } from 'ioredis';

/** What a scenario may add to a bus it creates: a status hook and a logger. */
export interface BusExtras {
  onStatus?: (status: BusStatus) => void;
  logger?: Logger;
}

/** One backend as a fault scenario sees it: buses, and a broker it may kill and start again. */
export interface Target {
  readonly backend: string;
  /** False for the in-process bus: there is no broker to restart. */
  readonly hasBroker: boolean;
  /** `OMNIBUS_URL` of the broker, for a member in another process (undefined for memory). */
  readonly url?: string;
  createBus(extras?: BusExtras): Promise<EventBus>;
  /** Kills the broker process (SIGKILL) this target started. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Freezes (SIGSTOP) or thaws (SIGCONT) the broker: a network pause, sockets left open. */
  pause(paused: boolean): void;
  /**
   * Drops every client connection from the broker's side, the broker staying up
   * (Redis: \`CLIENT KILL\` from an admin connection); undefined where the broker
   * has no such command, and a process restart stands in for it.
   */
  killConnections?(): Promise<number>;
  /** The buses' `publishTimeoutMs`: how long a publish, or a subscribe, waits through an outage (ms; 0 for memory). */
  readonly publishTimeoutMs: number;
  /** How long a network pause lasts: longer than every client timeout that could notice it. */
  readonly pauseMs: number;
  /** The client timeouts the pause outlasts, for the report. */
  readonly clientTimeouts: string;
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
    pause: () => undefined,
    pauseMs: 0,
    publishTimeoutMs: 0,
    clientTimeouts: 'none (no connection)',
    dispose: () => bus.close(),
  };
}

/** A broker process the suite started: killed and started again by its PID. */
function brokerTarget(
  backend: string,
  url: string,
  broker: {
    kill(): Promise<void>;
    restart(): Promise<void>;
    pause(paused: boolean): void;
    dispose(): Promise<void>;
  },
  createBus: (extras: BusExtras) => Promise<EventBus>,
  faults: Pick<Target, 'pauseMs' | 'clientTimeouts' | 'killConnections' | 'publishTimeoutMs'>,
): Target {
  return {
    backend,
    url,
    hasBroker: true,
    createBus: (extras = {}) => createBus(extras),
    kill: () => broker.kill(),
    start: () => broker.restart(),
    pause: (paused) => broker.pause(paused),
    ...faults,
    dispose: () => broker.dispose(),
  };
}

/** `publishTimeoutMs` of the suite's NATS and Redis buses (their default is 10 s). */
export const SUITE_PUBLISH_TIMEOUT_MS = 20_000;

/** nats-server with JetStream (file storage) on a spare port. */
export async function natsTarget(): Promise<Target> {
  const server = await startLocalNats();
  return brokerTarget(
    'nats',
    server.url,
    server,
    (extras) =>
      createNatsBus({
        url: server.url,
        logger: silentLogger,
        publishTimeoutMs: SUITE_PUBLISH_TIMEOUT_MS,
        ...extras,
      }),
    {
      publishTimeoutMs: SUITE_PUBLISH_TIMEOUT_MS,
      pauseMs: 8_000,
      clientTimeouts: 'ping every 2,000 ms, stale after 2 unanswered (the adapter’s defaults)',
    },
  );
}

/** redis-server with AOF (fsync always) on a spare port. */
export async function redisTarget(): Promise<Target> {
  const server = await startLocalRedis({ aof: true });
  return brokerTarget(
    'redis',
    server.url,
    server,
    (extras) =>
      createRedisBus({
        url: server.url,
        logger: silentLogger,
        publishTimeoutMs: SUITE_PUBLISH_TIMEOUT_MS,
        ...extras,
      }),
    {
      publishTimeoutMs: SUITE_PUBLISH_TIMEOUT_MS,
      pauseMs: 10_000,
      clientTimeouts:
        'connect 5,000 ms; a blocking read abandoned after 6,000 ms (blockMs 1,000 + 5,000 ms margin)',
      killConnections: () => killRedisClients(server.url),
    },
  );
}

/** A single-node Kafka started with scripts/kafka-local.sh on spare ports. */
export async function kafkaTarget(): Promise<Target> {
  const kafka = await startLocalKafka();
  return brokerTarget(
    'kafka',
    `kafka://${kafka.brokers.join(',')}`,
    kafka,
    (extras) =>
      createKafkaBus({ brokers: kafka.brokers, logger: silentLogger, connectTimeoutMs: 30_000, ...extras }),
    {
      publishTimeoutMs: 30_000, // the adapter's default
      pauseMs: 35_000,
      clientTimeouts: 'librdkafka request timeout 30,000 ms, consumer session 10,000 ms',
    },
  );
}

/** A RabbitMQ node of its own (quorum queues on its data directory), started on spare ports. */
export async function rabbitmqTarget(): Promise<Target> {
  const node = await startLocalRabbitMq();
  return brokerTarget(
    'rabbitmq',
    node.url,
    node,
    (extras) =>
      createRabbitMqBus({
        url: node.url,
        logger: silentLogger,
        publishTimeoutMs: SUITE_PUBLISH_TIMEOUT_MS,
        connectTimeoutMs: 30_000,
        ...extras,
      }),
    {
      publishTimeoutMs: SUITE_PUBLISH_TIMEOUT_MS,
      pauseMs: 10_000,
      clientTimeouts:
        'connect 30,000 ms; AMQP heartbeat 60 s (the client’s default); publish confirm 20,000 ms',
      killConnections: () => closeRabbitMqConnections(node),
    },
  );
}

/** Closes every client connection of a RabbitMQ node from the broker's side (`rabbitmqctl close_all_connections`). */
export async function closeRabbitMqConnections(node: LocalRabbitMq): Promise<number> {
  const listed = await node.ctl(['list_connections', 'pid', '--quiet', '--no-table-headers']);
  await node.ctl(['close_all_connections', 'closed by the faults suite']);
  return listed.split('\n').filter((line) => line.trim()).length;
}

/**
 * Drops every client connection of the Redis server at `url` (\`CLIENT KILL\` of
 * plain and pub/sub clients, from an admin connection that spares itself); the
 * number of connections dropped.
 */
export async function killRedisClients(url: string): Promise<number> {
  const admin = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectionName: 'faults-admin',
  });
  try {
    await admin.connect();
    let killed = 0;
    for (const type of ['normal', 'pubsub']) {
      killed += Number(await admin.call('CLIENT', 'KILL', 'TYPE', type, 'SKIPME', 'yes'));
    }
    return killed;
  } finally {
    admin.disconnect();
  }
}
