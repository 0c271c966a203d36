import { describe, it } from 'vitest';

/** A real broker the integration tests can use. */
export type BrokerKind = 'nats' | 'redis' | 'kafka';

/** The environment variable that points the tests at an existing broker. */
export const brokerEnvVar: Readonly<Record<BrokerKind, string>> = {
  nats: 'NATS_URL',
  redis: 'REDIS_URL',
  kafka: 'KAFKA_BROKERS',
};

/** Connection settings of a reachable broker. */
export interface AvailableBroker {
  readonly kind: BrokerKind;
  readonly available: true;
  /** `nats://host:port`, `redis://host:port` or `kafka://host:port[,host:port]`. */
  readonly url: string;
  /** Kafka bootstrap servers (`host:port`); for NATS and Redis the single `host:port`. */
  readonly brokers: readonly string[];
  /** Where it came from: the env var, or a container this process started. */
  readonly source: 'env' | 'testcontainers';
  /** Stops the container, if this process started one; a no-op for env brokers. */
  stop(): Promise<void>;
}

/** No broker: `reason` says which variable to set. */
export interface MissingBroker {
  readonly kind: BrokerKind;
  readonly available: false;
  readonly reason: string;
}

/** What `resolveBroker` found: connection settings, or why there is no broker. */
export type Broker = AvailableBroker | MissingBroker;

/** Options of `resolveBroker`, mainly for testing the resolver itself. */
export interface ResolveBrokerOptions {
  env?: Record<string, string | undefined>;
  /** Try testcontainers when the env var is unset (default true). */
  useContainers?: boolean;
}

const images = {
  nats: 'nats:2.10-alpine',
  redis: 'redis:7-alpine',
  kafka: 'confluentinc/cp-kafka:7.9.0',
} as const;

function fromEnv(kind: BrokerKind, value: string): AvailableBroker {
  const trimmed = value.trim();
  let brokers: string[];
  let url: string;
  if (kind === 'kafka') {
    brokers = trimmed
      .replace(/^kafka:\/\//, '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    url = `kafka://${brokers.join(',')}`;
  } else {
    url = trimmed.includes('://') ? trimmed : `${kind}://${trimmed}`;
    brokers = [new URL(url).host];
  }
  return { kind, available: true, url, brokers, source: 'env', stop: async () => {} };
}

async function dockerProblem(): Promise<string | undefined> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return undefined;
  } catch (error) {
    return `no Docker engine reachable (${(error as Error).message.split('\n')[0]})`;
  }
}

interface StartedContainer {
  getHost(): string;
  getMappedPort(port: number): number;
  stop(): Promise<unknown>;
}

function fromContainer(kind: BrokerKind, container: StartedContainer, port: number): AvailableBroker {
  const hostPort = `${container.getHost()}:${container.getMappedPort(port)}`;
  return {
    kind,
    available: true,
    url: `${kind}://${hostPort}`,
    brokers: [hostPort],
    source: 'testcontainers',
    stop: async () => void (await container.stop()),
  };
}

async function startContainer(kind: BrokerKind): Promise<AvailableBroker> {
  const tc = await import('testcontainers');
  if (kind === 'nats') {
    const container = await new tc.GenericContainer(images.nats)
      .withCommand(['-js'])
      .withExposedPorts(4222)
      .withWaitStrategy(tc.Wait.forLogMessage(/Server is ready/))
      .start();
    return fromContainer(kind, container, 4222);
  }
  if (kind === 'redis') {
    const { RedisContainer } = await import('@testcontainers/redis');
    return fromContainer(kind, await new RedisContainer(images.redis).start(), 6379);
  }
  const { KafkaContainer } = await import('@testcontainers/kafka');
  return fromContainer(kind, await new KafkaContainer(images.kafka).withKraft().start(), 9093);
}

/**
 * Finds a broker for integration tests: the env var (`NATS_URL`, `REDIS_URL`,
 * `KAFKA_BROKERS`) when set; else a testcontainers container when a Docker
 * engine is reachable; else a `MissingBroker` whose reason names the variable.
 * Under `CI=true` a missing broker is an error, never a skip.
 */
export async function resolveBroker(kind: BrokerKind, options: ResolveBrokerOptions = {}): Promise<Broker> {
  const env = options.env ?? process.env;
  const variable = brokerEnvVar[kind];
  const value = env[variable];
  if (value?.trim()) return fromEnv(kind, value);
  const problem = options.useContainers === false ? 'testcontainers disabled' : await dockerProblem();
  if (!problem) return startContainer(kind);
  const reason = `${kind} integration tests need a broker: set ${variable} (see README "Integration tests"); ${problem}`;
  if (env.CI === 'true' || env.CI === '1') throw new Error(`[omnibus:testing] CI=true and ${reason}`);
  return { kind, available: false, reason };
}

const cache = new Map<BrokerKind, Promise<Broker>>();

/** `resolveBroker` once per test process and kind. */
export function getBroker(kind: BrokerKind): Promise<Broker> {
  let broker = cache.get(kind);
  if (!broker) {
    broker = resolveBroker(kind);
    cache.set(kind, broker);
  }
  return broker;
}

/**
 * Registers integration tests that need a real broker. When none is available
 * (and not under CI), registers one test that is skipped at run time with the
 * reason, so the run says why instead of passing silently.
 *
 * @example
 * await withBroker('nats', (broker) => {
 *   it('publishes', async () => { … broker.url … });
 * });
 */
export async function withBroker(
  kind: BrokerKind,
  define: (broker: AvailableBroker) => void | Promise<void>,
): Promise<void> {
  const broker = await getBroker(kind);
  if (broker.available) {
    await define(broker);
    return;
  }
  describe(`${kind} integration`, () => {
    it(`needs a ${kind} broker`, (ctx) => {
      ctx.skip(broker.reason);
    });
  });
}

/** A name unique to this run, safe as a NATS stream, Redis key part, Kafka topic or group. */
export function uniqueName(prefix = 'omnibus'): string {
  return `${prefix}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
