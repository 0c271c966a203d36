import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type EventBus, silentLogger } from '@omnibus/core';
import { createKafkaBus } from '@omnibus/kafka';
import { createMemoryBus } from '@omnibus/memory';
import { createNatsBus } from '@omnibus/nats';
import { createRedisBus } from '@omnibus/redis';
import { sparePort, startLocalServer } from '@omnibus/testing';

/** One backend as a fault scenario sees it: buses, and a broker it may kill and start again. */
export interface Target {
  readonly backend: string;
  /** False for the in-process bus: there is no broker to restart. */
  readonly hasBroker: boolean;
  createBus(): Promise<EventBus>;
  /** Kills the broker process (SIGKILL) this target started. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  dispose(): Promise<void>;
}

const run = promisify(execFile);
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

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

/** nats-server with JetStream (file storage) on a spare port. */
export async function natsTarget(): Promise<Target> {
  const store = mkdtempSync(join(tmpdir(), 'omnibus-faults-nats-'));
  const server = await startLocalServer({
    name: 'nats-server',
    binaries: ['/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server', 'nats-server'],
    args: (port) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store],
  });
  return {
    backend: 'nats',
    hasBroker: true,
    createBus: () =>
      createNatsBus({
        url: `nats://127.0.0.1:${server.port}`,
        logger: silentLogger,
        publishTimeoutMs: 20_000,
      }),
    kill: () => server.kill(),
    start: () => server.restart(),
    async dispose() {
      await server.dispose();
      rmSync(store, { recursive: true, force: true });
    },
  };
}

/** redis-server with AOF (fsync always) on a spare port. */
export async function redisTarget(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'omnibus-faults-redis-'));
  const server = await startLocalServer({
    name: 'redis-server',
    binaries: [
      '/usr/sbin/redis-server',
      '/usr/local/bin/redis-server',
      '/usr/bin/redis-server',
      'redis-server',
    ],
    args: (port) => [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
    ],
  });
  return {
    backend: 'redis',
    hasBroker: true,
    createBus: () =>
      createRedisBus({
        url: `redis://127.0.0.1:${server.port}`,
        logger: silentLogger,
        publishTimeoutMs: 20_000,
      }),
    kill: () => server.kill(),
    start: () => server.restart(),
    async dispose() {
      await server.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A single-node Kafka started with scripts/kafka-local.sh on spare ports. */
export async function kafkaTarget(): Promise<Target> {
  const script = here('../../../scripts/kafka-local.sh');
  const cache =
    process.env.KAFKA_HOME_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'omnibus', 'kafka');
  const port = await sparePort();
  const env = { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(await sparePort()) };
  const runDir = join(cache, `run-${port}`);
  const pid = () => Number(readFileSync(join(runDir, 'kafka.pid'), 'utf8').trim());
  const start = async () => void (await run('bash', [script, 'start'], { env, timeout: 120_000 }));
  await start();
  let owned: number | undefined = pid();
  const killOnExit = () => {
    if (owned) process.kill(owned, 'SIGKILL');
  };
  process.once('exit', killOnExit);
  return {
    backend: 'kafka',
    hasBroker: true,
    createBus: () =>
      createKafkaBus({ brokers: [`127.0.0.1:${port}`], logger: silentLogger, connectTimeoutMs: 30_000 }),
    async kill() {
      const p = pid();
      process.kill(p, 'SIGKILL');
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(p, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      rmSync(join(runDir, 'kafka.pid'), { force: true });
      owned = undefined;
    },
    async start() {
      await start();
      owned = pid();
    },
    async dispose() {
      process.off('exit', killOnExit);
      await run('bash', [script, 'stop'], { env, timeout: 60_000 }).catch(() => undefined);
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}
