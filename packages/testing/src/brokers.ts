import { describe, expect, it } from 'vitest';

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
  /**
   * Loads an optional container package (default: `import(specifier)`); a test seam for
   * "testcontainers is not installed".
   */
  importModule?: (specifier: string) => Promise<unknown>;
}

/**
 * The optional peer dependencies of `@omnibus/testing` that start a broker of each kind in
 * Docker. They are loaded with `import()` only when no env var points at a broker.
 */
export const containerPackages: Readonly<Record<BrokerKind, readonly string[]>> = {
  nats: ['testcontainers'],
  redis: ['testcontainers', '@testcontainers/redis'],
  kafka: ['testcontainers', '@testcontainers/kafka'],
};

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

function isModuleNotFound(error: unknown, specifier: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = String(message ?? '');
  return (
    (code === 'ERR_MODULE_NOT_FOUND' ||
      /cannot find (package|module)|failed to (load|resolve)/i.test(text)) &&
    text.includes(specifier)
  );
}

const defaultImport = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ specifier);

/** The container packages of `kind` that cannot be loaded, in install order. */
async function missingContainerPackages(
  kind: BrokerKind,
  importModule: (specifier: string) => Promise<unknown>,
): Promise<string[]> {
  const missing: string[] = [];
  for (const specifier of containerPackages[kind]) {
    try {
      await importModule(specifier);
    } catch (error) {
      if (!isModuleNotFound(error, specifier)) throw error;
      missing.push(specifier);
    }
  }
  return missing;
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

/** Why no container can be started, or undefined when one can. */
async function containerProblem(
  kind: BrokerKind,
  options: ResolveBrokerOptions,
): Promise<string | undefined> {
  if (options.useContainers === false) return 'testcontainers disabled';
  let missing: string[];
  try {
    missing = await missingContainerPackages(kind, options.importModule ?? defaultImport);
  } catch (error) {
    return `the container packages failed to load (${String((error as Error)?.message ?? error).split('\n')[0]})`;
  }
  if (missing.length > 0) {
    return (
      `${missing.join(' and ')} not installed (optional peer dependencies of @omnibus/testing; ` +
      `to start a ${kind} container in Docker: npm install --save-dev ${missing.join(' ')})`
    );
  }
  return dockerProblem();
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
  const problem = await containerProblem(kind, options);
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
 * Title prefix of the test `withBroker` registers in place of the integration tests when no broker
 * is available. `scripts/test-summary.mjs` counts tests with this prefix as skipped.
 */
export const SKIPPED_TITLE_PREFIX = 'skipped: ';

/** The one line printed (to stderr) when a suite's integration tests are skipped. */
export function skipLine(broker: MissingBroker): string {
  return `[omnibus:testing] ${SKIPPED_TITLE_PREFIX}${broker.reason}`;
}

/**
 * Registers integration tests that need a real broker. When none is available
 * (and not under CI), prints one line with the reason — naming the variable to
 * set — and registers, instead of the tests, one test titled
 * `skipped: <reason>` that checks the broker really is missing; the test summary
 * counts it as skipped. `options` (env, containers) are for testing the helper
 * itself; by default the broker is resolved once per process and kind.
 *
 * @example
 * await withBroker('nats', (broker) => {
 *   it('publishes', async () => { … broker.url … });
 * });
 */
export async function withBroker(
  kind: BrokerKind,
  define: (broker: AvailableBroker) => void | Promise<void>,
  options?: ResolveBrokerOptions,
): Promise<void> {
  const broker = options ? await resolveBroker(kind, options) : await getBroker(kind);
  if (broker.available) {
    await define(broker);
    return;
  }
  console.warn(skipLine(broker));
  describe(`${kind} integration`, () => {
    it(`${SKIPPED_TITLE_PREFIX}${broker.reason}`, () => {
      expect(broker.available).toBe(false);
      expect(broker.reason).toContain(`set ${brokerEnvVar[kind]}`);
    });
  });
}

/** A name unique to this run, safe as a NATS stream, Redis key part, Kafka topic or group. */
export function uniqueName(prefix = 'omnibus'): string {
  return `${prefix}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
