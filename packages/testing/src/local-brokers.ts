import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type LocalServer, sparePort, startLocalServer } from './local-server.js';
import type { TestCertificates } from './test-certificates.js';

/** A broker process a test started on spare ports; stopped only by its own PID. */
export interface LocalBroker extends LocalServer {
  /** `nats://127.0.0.1:<port>` or `redis://127.0.0.1:<port>` (`tls://…`, `rediss://…` with `tls`). */
  readonly url: string;
}

/** Where `nats-server` is looked for. */
export const NATS_BINARIES = [
  '/usr/sbin/nats-server',
  '/usr/local/bin/nats-server',
  '/usr/bin/nats-server',
  'nats-server',
];

/** Where `redis-server` is looked for. */
export const REDIS_BINARIES = [
  '/usr/sbin/redis-server',
  '/usr/local/bin/redis-server',
  '/usr/bin/redis-server',
  'redis-server',
];

/** `redis-server` arguments every local server shares: loopback, its port and directory, no RDB, AOF (fsync always) or none. */
export function redisServerArgs(port: number, dir: string, aof = false): string[] {
  return [
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--dir',
    dir,
    '--save',
    '',
    ...(aof ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  ];
}

/**
 * Starts `nats-server` on 127.0.0.1 and a spare port (JetStream with a temporary
 * store unless `jetstream: false`; with `token`, clients must present it: `--auth`;
 * with `tls`, only TLS clients are served, and the URL is `tls://…`).
 */
export async function startLocalNats(
  options: { jetstream?: boolean; token?: string; tls?: TestCertificates; args?: string[] } = {},
): Promise<LocalBroker> {
  const store = mkdtempSync(join(tmpdir(), 'omnibus-nats-'));
  const server = await startLocalServer({
    name: 'nats-server',
    binaries: NATS_BINARIES,
    args: (port) => [
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      ...(options.jetstream === false ? [] : ['-js', '-sd', store]),
      ...(options.token ? ['--auth', options.token] : []),
      ...(options.tls ? ['--tls', '--tlscert', options.tls.certFile, '--tlskey', options.tls.keyFile] : []),
      ...(options.args ?? []),
    ],
  });
  return withUrl(server, `${options.tls ? 'tls' : 'nats'}://127.0.0.1:${server.port}`, store);
}

/**
 * Starts `redis-server` on 127.0.0.1 and a spare port with a temporary directory
 * and no persistence, or `aof: true` (append-only file, fsync always); with
 * `tls`, the port speaks only TLS (no client certificates asked) and the URL is
 * `rediss://…`.
 */
export async function startLocalRedis(
  options: { aof?: boolean; tls?: TestCertificates; args?: string[] } = {},
): Promise<LocalBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'omnibus-redis-'));
  const tls = options.tls;
  const server = await startLocalServer({
    name: 'redis-server',
    binaries: REDIS_BINARIES,
    args: (port) => [
      ...redisServerArgs(port, dir, options.aof),
      ...(tls
        ? [
            '--port',
            '0',
            '--tls-port',
            String(port),
            '--tls-cert-file',
            tls.certFile,
            '--tls-key-file',
            tls.keyFile,
            '--tls-ca-cert-file',
            tls.caFile,
            '--tls-auth-clients',
            'no',
          ]
        : []),
      ...(options.args ?? []),
    ],
  });
  return withUrl(server, `${tls ? 'rediss' : 'redis'}://127.0.0.1:${server.port}`, dir);
}

/** Where `rabbitmq-server` is looked for: the script that execs the Erlang VM (its PID is the broker's). */
export const RABBITMQ_BINARIES = ['/usr/lib/rabbitmq/bin/rabbitmq-server', 'rabbitmq-server'];

/** A RabbitMQ node a test started: its node name and cookie home, for `rabbitmqctl -n`. */
export interface LocalRabbitMq extends LocalBroker {
  /** `omnibus-<port>@localhost`. */
  readonly nodeName: string;
  /** The directory holding the node's data, logs and Erlang cookie. */
  readonly home: string;
  /** Runs `rabbitmqctl` against this node (its cookie on the command line); resolves with its output. */
  ctl(args: readonly string[]): Promise<string>;
}

/**
 * Starts a RabbitMQ node of its own on 127.0.0.1 and a spare AMQP port: node name
 * `omnibus-<port>@localhost`, its own distribution port, data, logs, cookie (a temporary
 * `HOME`) and no plugins. The Erlang VM replaces the start script, so the PID is the broker's:
 * SIGKILL and SIGSTOP reach it. A restart keeps the data (quorum queues recover). The guest user
 * connects from loopback: `amqp://guest:guest@127.0.0.1:<port>`.
 */
export async function startLocalRabbitMq(): Promise<LocalRabbitMq> {
  const dir = mkdtempSync(join(tmpdir(), 'omnibus-rabbitmq-'));
  let nodeName = '';
  const server = await startRabbitMqNode(dir, (port) => {
    nodeName = `omnibus-${port}@localhost`;
    return nodeName;
  });
  const ctl = (args: readonly string[]) => rabbitmqctl(nodeName, dir, args);
  // assigned, not spread: `pid` is a getter (it changes with each restart)
  return Object.assign(withUrl(server, `amqp://guest:guest@127.0.0.1:${server.port}`, dir), {
    nodeName,
    home: dir,
    ctl,
  });
}

/**
 * Starts `rabbitmq-server` with `dir` as its home (data, logs, cookie, no plugins), on a spare
 * AMQP port and distribution port, named `nodeName(port)`. With `cookie`, the node's Erlang
 * cookie is written first (nodes of a cluster share one); else the node makes its own.
 */
export async function startRabbitMqNode(
  dir: string,
  nodeName: (port: number) => string,
  cookie?: string,
): Promise<LocalServer> {
  writeFileSync(join(dir, 'enabled_plugins'), '[].');
  if (cookie !== undefined) writeFileSync(join(dir, '.erlang.cookie'), cookie, { mode: 0o400 });
  const distPort = await sparePort();
  return startLocalServer({
    name: 'rabbitmq-server',
    binaries: RABBITMQ_BINARIES,
    args: () => [],
    keepStdinOpen: true,
    startTimeoutMs: 90_000,
    env: (port) => ({
      HOME: dir,
      RABBITMQ_ALLOW_INPUT: 'true', // exec the VM in place of the script
      RABBITMQ_NODENAME: nodeName(port),
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      RABBITMQ_PID_FILE: join(dir, 'pid'),
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    }),
  });
}

/**
 * Runs `rabbitmqctl -n <nodeName>` with the cookie in `home` on its command line (Debian's
 * rabbitmqctl runs as the rabbitmq user, whose HOME holds another cookie); resolves with its output.
 */
export async function rabbitmqctl(nodeName: string, home: string, args: readonly string[]): Promise<string> {
  const cookie = readFileSync(join(home, '.erlang.cookie'), 'utf8').trim();
  const { stdout } = await run('rabbitmqctl', ['-n', nodeName, '--erlang-cookie', cookie, ...args], {
    timeout: 60_000,
  });
  return stdout;
}

function withUrl(server: LocalServer, url: string, dir: string): LocalBroker {
  return {
    port: server.port,
    url,
    get pid() {
      return server.pid;
    },
    kill: () => server.kill(),
    pause: (paused) => server.pause(paused),
    restart: () => server.restart(),
    async dispose() {
      await server.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A single-node Kafka a test started with scripts/kafka-local.sh on spare ports. */
export interface LocalKafka {
  readonly port: number;
  readonly brokers: string[];
  /** The running process's PID; undefined while it is stopped. */
  readonly pid: number | undefined;
  /** SIGKILLs the broker (a crash); its data stays for `restart`. */
  kill(): Promise<void>;
  /** Freezes the process (SIGSTOP) or thaws it (SIGCONT): a broker that stops answering without closing sockets. */
  pause(paused: boolean): void;
  /** Starts it again on the same ports and data. */
  restart(): Promise<void>;
  /** Stops it and removes its data. */
  dispose(): Promise<void>;
}

const run = promisify(execFile);

/** One Kafka process started with scripts/kafka-local.sh (a single node or a cluster member). */
export interface KafkaNode {
  readonly port: number;
  /** The running process's PID; undefined while it is stopped. */
  readonly pid: number | undefined;
  kill(): Promise<void>;
  restart(): Promise<void>;
  dispose(): Promise<void>;
}

/** The repository's `scripts/kafka-local.sh`, or `OMNIBUS_KAFKA_SCRIPT`. */
export function kafkaScript(): string {
  const script =
    process.env.OMNIBUS_KAFKA_SCRIPT ??
    fileURLToPath(new URL('../../../scripts/kafka-local.sh', import.meta.url));
  if (!existsSync(script)) throw new Error(`[omnibus:testing] ${script} not found: set OMNIBUS_KAFKA_SCRIPT`);
  return script;
}

/**
 * Starts one Kafka process with scripts/kafka-local.sh on `port` (the script's
 * `KAFKA_*` environment in `env`: controller port, node id, quorum, …); resolves
 * once the script saw it start. Not started when `start: false`.
 */
export async function startKafkaNode(
  port: number,
  env: Record<string, string>,
  options: { start?: boolean } = {},
): Promise<KafkaNode> {
  const script = kafkaScript();
  const cache =
    process.env.KAFKA_HOME_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'omnibus', 'kafka');
  const fullEnv = { ...process.env, ...env, KAFKA_PORT: String(port) };
  const runDir = join(cache, `run-${port}`);
  const pidFile = join(runDir, 'kafka.pid');
  const readPid = () => Number(readFileSync(pidFile, 'utf8').trim());
  let owned: number | undefined;
  const killOnExit = () => {
    if (owned) process.kill(owned, 'SIGKILL');
  };
  process.once('exit', killOnExit);
  const start = async () => {
    await run('bash', [script, 'start'], { env: fullEnv, timeout: 120_000 });
    owned = readPid();
  };
  if (options.start !== false) await start();
  return {
    port,
    get pid() {
      return owned;
    },
    async kill() {
      const p = owned ?? (existsSync(pidFile) ? readPid() : undefined);
      if (!p) return;
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(p, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      rmSync(pidFile, { force: true });
      owned = undefined;
    },
    restart: start,
    async dispose() {
      process.off('exit', killOnExit);
      await run('bash', [script, 'stop'], { env: fullEnv, timeout: 60_000 }).catch(() => undefined);
      owned = undefined;
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts Kafka (broker + controller, KRaft) on spare ports with the repository's
 * `scripts/kafka-local.sh` (Apache's jars resolved with Maven; Java 17+), or
 * `OMNIBUS_KAFKA_SCRIPT`. `saslPlain: 'user:password'` makes its listener SASL/PLAIN;
 * `saslScram: 'user:password'` (with `saslPlain`) adds a user for SCRAM-SHA-256 and
 * SCRAM-SHA-512; `tls` makes it TLS (SSL, or SASL_SSL with `saslPlain`).
 */
export async function startLocalKafka(
  options: { saslPlain?: string; saslScram?: string; tls?: TestCertificates } = {},
): Promise<LocalKafka> {
  const port = await sparePort();
  const node = await startKafkaNode(port, {
    KAFKA_CONTROLLER_PORT: String(await sparePort()),
    ...(options.saslPlain ? { KAFKA_SASL_PLAIN: options.saslPlain } : {}),
    ...(options.saslScram ? { KAFKA_SASL_SCRAM: options.saslScram } : {}),
    ...(options.tls
      ? {
          KAFKA_SSL_CERT: options.tls.certFile,
          KAFKA_SSL_KEY: options.tls.keyFile,
          KAFKA_SSL_CA: options.tls.caFile,
        }
      : {}),
  });
  return {
    port,
    brokers: [`127.0.0.1:${port}`],
    get pid() {
      return node.pid;
    },
    kill: () => node.kill(),
    pause(paused) {
      if (node.pid) process.kill(node.pid, paused ? 'SIGSTOP' : 'SIGCONT');
    },
    restart: () => node.restart(),
    dispose: () => node.dispose(),
  };
}
