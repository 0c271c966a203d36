import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { sparePort } from './local-server.js';

/** A real broker the integration tests can use. */
export type BrokerKind = 'nats' | 'redis' | 'kafka' | 'rabbitmq';

/** The environment variable that points the tests at an existing broker. */
export const brokerEnvVar: Readonly<Record<BrokerKind, string>> = {
  nats: 'NATS_URL',
  redis: 'REDIS_URL',
  kafka: 'KAFKA_BROKERS',
  rabbitmq: 'RABBITMQ_URL',
};

/** Connection settings of a reachable broker. */
export interface AvailableBroker {
  readonly kind: BrokerKind;
  readonly available: true;
  /** `nats://host:port`, `redis://host:port`, `kafka://host:port[,host:port]` or `amqp://user:password@host:port`. */
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
  kafka: ['testcontainers'],
  rabbitmq: ['testcontainers'],
};

/** The variable that picks the image a broker container is started from. */
export const brokerImageEnvVar: Readonly<Record<BrokerKind, string>> = {
  nats: 'OMNIBUS_TEST_NATS_IMAGE',
  redis: 'OMNIBUS_TEST_REDIS_IMAGE',
  kafka: 'OMNIBUS_TEST_KAFKA_IMAGE',
  rabbitmq: 'OMNIBUS_TEST_RABBITMQ_IMAGE',
};

/**
 * The official images the container fixtures (and `docker-compose.test.yml`) use unless
 * `OMNIBUS_TEST_*_IMAGE` names another: any image that behaves like these (NATS: arguments
 * starting with `-` go to `nats-server`; Redis: `redis-server` on 6379; Kafka: the KRaft
 * `KAFKA_*` environment of the official `apache/kafka` image; RabbitMQ: AMQP on 5672 with `guest`), e.g. the `omnibus-local/…`
 * images `scripts/local-images.sh` builds.
 */
export const defaultBrokerImages: Readonly<Record<BrokerKind, string>> = {
  nats: 'nats:2.10-alpine',
  redis: 'redis:7-alpine',
  kafka: 'apache/kafka:3.9.1',
  rabbitmq: 'rabbitmq:3.10',
};

/** The image a container fixture starts for `kind`: `OMNIBUS_TEST_<KIND>_IMAGE`, else the official one. */
export function brokerImage(kind: BrokerKind, env: Record<string, string | undefined> = process.env): string {
  return env[brokerImageEnvVar[kind]]?.trim() || defaultBrokerImages[kind];
}

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
    url = trimmed.includes('://') ? trimmed : `${kind === 'rabbitmq' ? 'amqp' : kind}://${trimmed}`;
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
  getId(): string;
  getHost(): string;
  getMappedPort(port: number): number;
  stop(): Promise<unknown>;
}

/**
 * Containers this process started and has not stopped yet. Without testcontainers' reaper
 * (`TESTCONTAINERS_RYUK_DISABLED=true`, or no reaper image) nothing else removes them, so
 * `withBroker` stops them after the file's tests (passed or failed) and, as a last resort, the
 * process's exit and termination signals remove whatever is left with `docker rm -f`.
 */
const running = new Map<string, StartedContainer>();
let exitHooksInstalled = false;

function removeLeftovers(): void {
  for (const id of running.keys()) {
    spawnSync('docker', ['rm', '-f', '-v', id], { stdio: 'ignore', timeout: 15_000 });
  }
  running.clear();
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.once('exit', removeLeftovers);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      removeLeftovers();
      // re-raise only when nobody else handles it, so the process still ends as it would have
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}

function track(container: StartedContainer): () => Promise<void> {
  installExitHooks();
  const id = container.getId();
  running.set(id, container);
  let stopped: Promise<void> | undefined;
  return () => {
    stopped ??= (async () => {
      try {
        await container.stop();
      } finally {
        running.delete(id);
      }
    })();
    return stopped;
  };
}

function fromContainer(kind: BrokerKind, container: StartedContainer, port: number): AvailableBroker {
  const hostPort = `${container.getHost()}:${container.getMappedPort(port)}`;
  return {
    kind,
    available: true,
    url: kind === 'rabbitmq' ? `amqp://guest:guest@${hostPort}` : `${kind}://${hostPort}`,
    brokers: [hostPort],
    source: 'testcontainers',
    stop: track(container),
  };
}

type TC = typeof import('testcontainers');
type PortBindings = Record<string, { HostIp?: string; HostPort: string }[]>;

/** The host clients reach containers on (`TESTCONTAINERS_HOST_OVERRIDE`, else the engine's). */
async function dockerHost(tc: TC): Promise<string> {
  return (await tc.getContainerRuntimeClient()).info.containerRuntime.host;
}

const loopback = /^(localhost|127\.\d+\.\d+\.\d+|::1|\[::1\])$/;

/**
 * Publishes the container's ports on 127.0.0.1 only when the engine runs on this machine (Docker
 * binds 0.0.0.0 by default, which would expose a test broker to the network). testcontainers has
 * no option for the host IP of a binding, so this sets it in the create options it sends.
 */
function bindToLoopback<T>(container: T, host: string): T {
  if (!loopback.test(host)) return container;
  const config = (container as unknown as { hostConfig?: { PortBindings?: PortBindings } }).hostConfig;
  for (const bindings of Object.values(config?.PortBindings ?? {})) {
    for (const binding of bindings) binding.HostIp = '127.0.0.1';
  }
  return container;
}

/**
 * A single-node KRaft Kafka (broker + controller) configured through the official `apache/kafka`
 * image's environment variables. Kafka hands clients the address it advertises, which must be the
 * one they reach from outside the container — the host and the *host* port. A random mapped port
 * is known only after the container started, too late for the broker's config, so the fixture
 * picks a free port on the host first and binds the container's 9092 to exactly that port (on
 * 127.0.0.1 for a local engine). Between brokers and the controller, a second listener (BROKER,
 * 9094) and the controller's (9093) stay inside the container.
 */
async function startKafka(tc: TC, image: string): Promise<AvailableBroker> {
  const host = await dockerHost(tc);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const hostPort = await sparePort();
    try {
      const container = await bindToLoopback(
        new tc.GenericContainer(image)
          .withExposedPorts({ container: 9092, host: hostPort })
          .withEnvironment({
            CLUSTER_ID: 'T21uaWJ1c1Rlc3RDbHVzdA',
            KAFKA_NODE_ID: '1',
            KAFKA_PROCESS_ROLES: 'broker,controller',
            KAFKA_LISTENERS: 'PLAINTEXT://0.0.0.0:9092,BROKER://0.0.0.0:9094,CONTROLLER://0.0.0.0:9093',
            KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${hostPort},BROKER://localhost:9094`,
            KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT',
            KAFKA_INTER_BROKER_LISTENER_NAME: 'BROKER',
            KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
            KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
            KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
            KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '4',
            KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
            KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
            KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
            KAFKA_NUM_PARTITIONS: '1',
            KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
            KAFKA_DELETE_TOPIC_ENABLE: 'true',
            KAFKA_HEAP_OPTS: '-Xmx512m -Xms256m',
          })
          .withWaitStrategy(tc.Wait.forLogMessage(/Kafka Server started/))
          .withStartupTimeout(120_000),
        host,
      ).start();
      return fromContainer('kafka', container, 9092);
    } catch (error) {
      lastError = error;
      // another process took the port between the check and the start: pick another one
      if (!/port is already allocated|address already in use/i.test(String((error as Error)?.message)))
        throw error;
    }
  }
  throw lastError;
}

async function startContainer(
  kind: BrokerKind,
  env: Record<string, string | undefined>,
): Promise<AvailableBroker> {
  const tc = await import('testcontainers');
  const image = brokerImage(kind, env);
  if (kind === 'nats') {
    const host = await dockerHost(tc);
    const container = await bindToLoopback(
      new tc.GenericContainer(image)
        .withCommand(['-js'])
        .withExposedPorts(4222)
        .withWaitStrategy(tc.Wait.forLogMessage(/Server is ready/)),
      host,
    ).start();
    return fromContainer(kind, container, 4222);
  }
  if (kind === 'redis') {
    const host = await dockerHost(tc);
    const { RedisContainer } = await import('@testcontainers/redis');
    return fromContainer(kind, await bindToLoopback(new RedisContainer(image), host).start(), 6379);
  }
  if (kind === 'rabbitmq') {
    const host = await dockerHost(tc);
    const container = await bindToLoopback(
      new tc.GenericContainer(image)
        .withExposedPorts(5672)
        .withWaitStrategy(tc.Wait.forLogMessage(/Server startup complete/))
        .withStartupTimeout(120_000),
      host,
    ).start();
    return fromContainer(kind, container, 5672);
  }
  return startKafka(tc, image);
}

/**
 * Finds a broker for integration tests: the env var (`NATS_URL`, `REDIS_URL`,
 * `KAFKA_BROKERS`, `RABBITMQ_URL`) when set; else a testcontainers container when a Docker
 * engine is reachable; else a `MissingBroker` whose reason names the variable.
 * Under `CI=true` a missing broker is an error, never a skip.
 */
export async function resolveBroker(kind: BrokerKind, options: ResolveBrokerOptions = {}): Promise<Broker> {
  const env = options.env ?? process.env;
  const variable = brokerEnvVar[kind];
  const value = env[variable];
  if (value?.trim()) return fromEnv(kind, value);
  const problem = await containerProblem(kind, options);
  if (!problem) return startContainer(kind, env);
  const reason = `${kind} integration tests need a broker: set ${variable} (see README "Integration tests"); ${problem}`;
  if (env.CI === 'true' || env.CI === '1') throw new Error(`[omnibus:testing] CI=true and ${reason}`);
  return { kind, available: false, reason };
}

const cache = new Map<BrokerKind, Promise<Broker>>();
/** How many `withBroker` registrations of this process still use the cached container of a kind. */
const users = new Map<BrokerKind, number>();

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
    if (broker.source === 'testcontainers') {
      // registered before `define`, so it runs after the suite's own afterAll hooks
      if (options) {
        afterAll(() => broker.stop(), 60_000);
      } else {
        users.set(kind, (users.get(kind) ?? 0) + 1);
        afterAll(async () => {
          const left = (users.get(kind) ?? 1) - 1;
          users.set(kind, left);
          if (left > 0) return;
          cache.delete(kind);
          await broker.stop();
        }, 60_000);
      }
    }
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
