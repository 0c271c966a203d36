import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  type KafkaNode,
  kafkaScript,
  NATS_BINARIES,
  REDIS_BINARIES,
  rabbitmqctl,
  redisServerArgs,
  startKafkaNode,
  startRabbitMqNode,
} from './local-brokers.js';
import { type LocalServer, sparePort, startLocalServer } from './local-server.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Three broker processes a test started on spare loopback ports; each stopped and started by its own PID. */
export interface LocalCluster {
  /** Number of nodes (3). */
  readonly size: number;
  /** PIDs of the nodes, undefined for a stopped one (to sample their memory, say). */
  pids(): (number | undefined)[];
  /** SIGKILLs node `i` (a crash); its data stays for `startNode`. */
  stopNode(i: number): Promise<void>;
  /** Starts node `i` again on the same ports and data; resolves once it is back in the cluster. */
  startNode(i: number): Promise<void>;
  /** Freezes node `i` (SIGSTOP) or thaws it (SIGCONT): a member that stops answering without closing its sockets. */
  pauseNode(i: number, paused: boolean): void;
  /** Stops every node and removes their data. */
  dispose(): Promise<void>;
}

/** A 3-node NATS cluster with JetStream (`startLocalNatsCluster`). */
export interface LocalNatsCluster extends LocalCluster {
  /** `nats://127.0.0.1:<port>` of each node, in node order. */
  readonly urls: string[];
  /** `http://127.0.0.1:<port>` of each node's monitoring endpoint. */
  readonly monitorUrls: string[];
  /** Server names (`n0`, `n1`, `n2`), as JetStream reports leaders. */
  readonly names: string[];
  /** The node that leads `stream` (asked of any running node), or undefined when none does (yet). */
  streamLeader(stream: string): Promise<number | undefined>;
}

/** A 3-master Redis Cluster (`startLocalRedisCluster`). */
export interface LocalRedisCluster extends LocalCluster {
  /** Seed nodes for `new Cluster(nodes)` (ioredis). */
  readonly nodes: { host: string; port: number }[];
  /** `redis://127.0.0.1:<port>` of each node. */
  readonly urls: string[];
  /** The node that owns the slot of `key` (hash tags count: `{omnibus}:x` is the slot of `omnibus`). */
  slotOwner(key: string): Promise<number>;
}

/** A 3-broker KRaft Kafka cluster (`startLocalKafkaCluster`). */
export interface LocalKafkaCluster extends LocalCluster {
  /** Bootstrap brokers (`127.0.0.1:<port>`), in node order. */
  readonly brokers: string[];
}

const REDIS_CLI = ['/usr/sbin/redis-cli', '/usr/local/bin/redis-cli', '/usr/bin/redis-cli'];

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `[omnibus:testing] ${what} within ${timeoutMs / 1000} s${last ? ` (${(last as Error).message ?? last})` : ''}`,
      );
    await sleep(200);
  }
}

/** Starts `make(i)` for each node; when one fails, stops those that started and rethrows. */
async function startAll<T extends { dispose(): Promise<void> }>(
  size: number,
  make: (i: number) => Promise<T>,
): Promise<T[]> {
  const results = await Promise.allSettled(Array.from({ length: size }, (_, i) => make(i)));
  const failed = results.find((r) => r.status === 'rejected');
  if (!failed) return results.map((r) => (r as PromiseFulfilledResult<T>).value);
  await Promise.all(
    results.map((r) => (r.status === 'fulfilled' ? r.value.dispose().catch(() => undefined) : undefined)),
  );
  throw (failed as PromiseRejectedResult).reason;
}

/** `pids`, `stopNode` (SIGKILL), `startNode` and `pauseNode` of a cluster's servers; `afterStart(i)` waits for a restarted node to be back. */
function nodeControls(
  servers: readonly LocalServer[],
  afterStart: (i: number) => Promise<unknown>,
): Pick<LocalCluster, 'pids' | 'stopNode' | 'startNode' | 'pauseNode'> {
  const down = new Set<number>();
  return {
    pids: () => servers.map((s, i) => (down.has(i) ? undefined : s.pid)),
    async stopNode(i) {
      await node(servers, i).kill();
      down.add(i);
    },
    async startNode(i) {
      await node(servers, i).restart();
      down.delete(i);
      await afterStart(i);
    },
    pauseNode: (i, paused) => node(servers, i).pause(paused),
  };
}

function node<T>(list: readonly T[], i: number): T {
  const n = list[i];
  if (n === undefined) throw new RangeError(`[omnibus:testing] no node ${i} (0–${list.length - 1})`);
  return n;
}

/**
 * Starts a 3-node NATS cluster on 127.0.0.1: `nats-server` × 3 with JetStream
 * (each its own temporary store), `--cluster` and `--routes` to the other two, and
 * an HTTP monitoring port each. Resolves once every node reports JetStream healthy
 * (a meta leader elected). Streams created with `replicas: 3` live on all three;
 * `streamLeader` says which node to stop to hit the leader.
 */
export async function startLocalNatsCluster(options: { args?: string[] } = {}): Promise<LocalNatsCluster> {
  const size = 3;
  const clusterPorts = await Promise.all(Array.from({ length: size }, () => sparePort()));
  const monitorPorts = await Promise.all(Array.from({ length: size }, () => sparePort()));
  const name = `omnibus-${clusterPorts[0]}`;
  const names = Array.from({ length: size }, (_, i) => `n${i}`);
  const stores: string[] = [];
  const servers = await startAll(size, async (i) => {
    const store = mkdtempSync(join(tmpdir(), `omnibus-nats-n${i}-`));
    stores.push(store);
    const routes = clusterPorts.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`);
    return startLocalServer({
      name: `nats-server (cluster node ${i})`,
      binaries: NATS_BINARIES,
      args: (port) => [
        '-a',
        '127.0.0.1',
        '-p',
        String(port),
        '-n',
        node(names, i),
        '-m',
        String(node(monitorPorts, i)),
        '-js',
        '-sd',
        store,
        '--cluster_name',
        name,
        '--cluster',
        `nats://127.0.0.1:${node(clusterPorts, i)}`,
        '--routes',
        routes.join(','),
        ...(options.args ?? []),
      ],
    });
  });
  const monitorUrls = monitorPorts.map((p) => `http://127.0.0.1:${p}`);
  const healthy = (i: number) =>
    until(`nats-server (cluster node ${i}) did not report JetStream healthy`, 30_000, async () => {
      const res = await fetch(`${node(monitorUrls, i)}/healthz`);
      return res.ok ? true : undefined;
    });
  const dispose = async () => {
    await Promise.all(servers.map((s) => s.dispose()));
    for (const dir of stores) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(servers.map((_, i) => healthy(i)));
    await until('the NATS cluster elected no JetStream meta leader', 30_000, async () => {
      const jsz = (await (await fetch(`${node(monitorUrls, 0)}/jsz`)).json()) as {
        meta_cluster?: { leader?: string };
      };
      return jsz.meta_cluster?.leader ? true : undefined;
    });
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    size,
    urls: servers.map((s) => `nats://127.0.0.1:${s.port}`),
    monitorUrls,
    names,
    ...nodeControls(servers, healthy),
    async streamLeader(stream) {
      for (const url of monitorUrls) {
        try {
          const jsz = (await (await fetch(`${url}/jsz?accounts=true&streams=true`)).json()) as {
            account_details?: { stream_detail?: { name: string; cluster?: { leader?: string } }[] }[];
          };
          for (const account of jsz.account_details ?? []) {
            const leader = account.stream_detail?.find((s) => s.name === stream)?.cluster?.leader;
            if (leader && names.includes(leader)) return names.indexOf(leader);
          }
        } catch {
          // that node is down: ask the next
        }
      }
      return undefined;
    },
    dispose,
  };
}

function redisCli(): string {
  return REDIS_CLI.find((b) => existsSync(b)) ?? 'redis-cli';
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run(redisCli(), ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: 10_000,
  });
  return stdout;
}

/**
 * Starts a 3-master Redis Cluster on 127.0.0.1: `redis-server --cluster-enabled yes`
 * × 3 (each its own directory and `nodes.conf`), joined with
 * `redis-cli --cluster create … --cluster-replicas 0 --cluster-yes`; resolves once
 * every node says `cluster_state:ok`. With no replicas, a stopped master's slots are
 * unavailable until it is started again (`aof: true` — append-only, fsync always —
 * keeps what it acknowledged). `nodeTimeoutMs` is `cluster-node-timeout` (default 5,000).
 */
export async function startLocalRedisCluster(
  options: { aof?: boolean; nodeTimeoutMs?: number; args?: string[] } = {},
): Promise<LocalRedisCluster> {
  const size = 3;
  const dirs: string[] = [];
  const servers: LocalServer[] = await startAll(size, async (i) => {
    const dir = mkdtempSync(join(tmpdir(), `omnibus-redis-cluster-n${i}-`));
    dirs.push(dir);
    return startLocalServer({
      name: `redis-server (cluster node ${i})`,
      binaries: REDIS_BINARIES,
      args: (port) => [
        ...redisServerArgs(port, dir, options.aof),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, 'nodes.conf'),
        '--cluster-node-timeout',
        String(options.nodeTimeoutMs ?? 5_000),
        ...(options.args ?? []),
      ],
    });
  });
  const dispose = async () => {
    await Promise.all(servers.map((s) => s.dispose()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  const clusterOk = (i: number) =>
    until(`redis-server (cluster node ${i}) did not report cluster_state:ok`, 30_000, async () =>
      /cluster_state:ok/.test(await cli(node(servers, i).port, 'CLUSTER', 'INFO')) ? true : undefined,
    );
  try {
    await run(
      redisCli(),
      [
        '--cluster',
        'create',
        ...servers.map((s) => `127.0.0.1:${s.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    await Promise.all(servers.map((_, i) => clusterOk(i)));
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    size,
    nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    urls: servers.map((s) => `redis://127.0.0.1:${s.port}`),
    ...nodeControls(servers, clusterOk),
    async slotOwner(key) {
      for (const s of servers) {
        try {
          const slot = Number((await cli(s.port, 'CLUSTER', 'KEYSLOT', key)).trim());
          // <id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <state> <slot ranges…>
          for (const line of (await cli(s.port, 'CLUSTER', 'NODES')).split('\n')) {
            const fields = line.trim().split(/\s+/);
            if (!fields[2]?.includes('master')) continue;
            const owns = fields.slice(8).some((range) => {
              const [from, to = from] = range.split('-').map(Number);
              return from !== undefined && slot >= from && slot <= (to as number);
            });
            const port = Number(fields[1]?.split('@')[0]?.split(':')[1]);
            if (owns) return servers.findIndex((n) => n.port === port);
          }
        } catch {
          // that node is down: ask the next
        }
      }
      throw new Error(`[omnibus:testing] no running node knows who owns the slot of ${key}`);
    },
    dispose,
  };
}

/**
 * Starts a 3-broker Kafka cluster (KRaft; every node broker and controller, the
 * quorum voters across the three) with `scripts/kafka-local.sh` on spare ports:
 * default replication factor 3 (also for the offsets topic), `min.insync.replicas`
 * 2, so a publish acknowledged with `acks: all` is on at least two nodes and one
 * node may be lost. Each JVM gets `heap` (default `-Xms128m -Xmx512m`, passed as
 * `KAFKA_HEAP_OPTS`): about 1.5 GB of memory for the three.
 */
export async function startLocalKafkaCluster(
  options: { heap?: string; replicationFactor?: number; minInsyncReplicas?: number } = {},
): Promise<LocalKafkaCluster> {
  // resolve the jars once, before three scripts would race to do it
  await run('bash', [kafkaScript(), 'resolve'], { timeout: 600_000 });
  // a start that fails (a spare port taken before the JVM bound it, a node slow to join the
  // quorum on a loaded machine) is tried once more, on new ports, before it is an error
  try {
    return await startKafkaClusterOnce(options);
  } catch {
    return startKafkaClusterOnce(options);
  }
}

async function startKafkaClusterOnce(options: {
  heap?: string;
  replicationFactor?: number;
  minInsyncReplicas?: number;
}): Promise<LocalKafkaCluster> {
  const size = 3;
  const ports = await Promise.all(Array.from({ length: size }, () => sparePort()));
  const controllerPorts = await Promise.all(Array.from({ length: size }, () => sparePort()));
  const voters = controllerPorts.map((p, i) => `${i + 1}@127.0.0.1:${p}`).join(',');
  // a KRaft cluster id: 16 random bytes, base64url without padding (what `random-uuid` prints)
  const clusterId = randomBytes(16).toString('base64url');
  const nodes: KafkaNode[] = [];
  for (let i = 0; i < size; i++) {
    nodes.push(
      await startKafkaNode(
        node(ports, i),
        {
          KAFKA_CONTROLLER_PORT: String(node(controllerPorts, i)),
          KAFKA_NODE_ID: String(i + 1),
          KAFKA_QUORUM_VOTERS: voters,
          KAFKA_CLUSTER_ID: clusterId,
          KAFKA_REPLICATION_FACTOR: String(options.replicationFactor ?? 3),
          KAFKA_MIN_INSYNC_REPLICAS: String(options.minInsyncReplicas ?? 2),
          KAFKA_HEAP_OPTS: options.heap ?? '-Xms128m -Xmx512m',
        },
        { start: false },
      ),
    );
  }
  const dispose = async () => {
    await Promise.all(nodes.map((n) => n.dispose()));
  };
  try {
    // together: no node finishes starting before a quorum of controllers is up
    await Promise.all(nodes.map((n) => n.restart()));
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    size,
    brokers: ports.map((p) => `127.0.0.1:${p}`),
    pids: () => nodes.map((n) => n.pid),
    stopNode: (i) => node(nodes, i).kill(),
    startNode: (i) => node(nodes, i).restart(),
    pauseNode(i, paused) {
      const pid = node(nodes, i).pid;
      if (pid) process.kill(pid, paused ? 'SIGSTOP' : 'SIGCONT');
    },
    dispose,
  };
}

/** A 3-node RabbitMQ cluster (`startLocalRabbitMqCluster`). */
export interface LocalRabbitMqCluster extends LocalCluster {
  /** `amqp://guest:guest@127.0.0.1:<port>` of each node, in node order. */
  readonly urls: string[];
  /** `127.0.0.1:<port>` of each node (rabbitmq-client's `hosts`). */
  readonly hosts: string[];
  /** Erlang node names (`omnibus-<run>-<i>@localhost`), as RabbitMQ reports a queue's leader. */
  readonly nodeNames: string[];
  /** Runs `rabbitmqctl` against node `i`; resolves with its output. */
  ctl(i: number, args: readonly string[]): Promise<string>;
  /** The node that leads the quorum queue `queue` (asked of any running node), or undefined when none does (yet). */
  queueLeader(queue: string): Promise<number | undefined>;
}

/**
 * Starts a 3-node RabbitMQ cluster on 127.0.0.1: three `rabbitmq-server` nodes, each with its
 * own home (data, logs), AMQP and distribution ports, sharing one Erlang cookie; nodes 1 and 2
 * join node 0 (`rabbitmqctl join_cluster`). Quorum queues declared on it have a member on every
 * node. A node SIGKILLed and started again rejoins by itself (its data names the cluster).
 */
export async function startLocalRabbitMqCluster(): Promise<LocalRabbitMqCluster> {
  const size = 3;
  const id = randomBytes(4).toString('hex');
  const cookie = randomBytes(20).toString('hex').toUpperCase();
  const homes = Array.from({ length: size }, () => mkdtempSync(join(tmpdir(), 'omnibus-rabbitmq-cluster-')));
  const nodeNames = homes.map((_, i) => `omnibus-${id}-${i}@localhost`);
  const removeHomes = () => {
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  };
  let servers: LocalServer[];
  try {
    servers = await startAll(size, (i) =>
      startRabbitMqNode(node(homes, i), () => node(nodeNames, i), cookie),
    );
  } catch (error) {
    removeHomes();
    throw error;
  }
  const ctl = (i: number, args: readonly string[]) => rabbitmqctl(node(nodeNames, i), node(homes, i), args);
  /** Waits until node `i` sees every node running (`rabbitmqctl cluster_status`). */
  const allRunning = (i: number, what: string) =>
    until(what, 60_000, async () => {
      const status = JSON.parse(await ctl(i, ['cluster_status', '--formatter', 'json'])) as {
        running_nodes?: string[];
      };
      return (status.running_nodes?.length ?? 0) === size ? true : undefined;
    });
  const dispose = async () => {
    await Promise.all(servers.map((s) => s.dispose().catch(() => undefined)));
    removeHomes();
  };
  try {
    for (const i of [1, 2]) {
      await ctl(i, ['stop_app']);
      await ctl(i, ['join_cluster', node(nodeNames, 0)]);
      await ctl(i, ['start_app']);
    }
    await allRunning(0, 'a 3-node RabbitMQ cluster formed');
  } catch (error) {
    await dispose();
    throw error;
  }
  const running = (i: number) => controls.pids()[i] !== undefined;
  const controls = nodeControls(servers, (i) => allRunning(i, `node ${i} back in the RabbitMQ cluster`));
  return {
    size,
    urls: servers.map((s) => `amqp://guest:guest@127.0.0.1:${s.port}`),
    hosts: servers.map((s) => `127.0.0.1:${s.port}`),
    nodeNames,
    ctl,
    ...controls,
    async queueLeader(queue) {
      for (let i = 0; i < size; i++) {
        if (!running(i)) continue;
        try {
          const rows = JSON.parse(await ctl(i, ['list_queues', 'name', 'leader', '--formatter', 'json'])) as {
            name: string;
            leader?: string;
          }[];
          const leader = rows.find((r) => r.name === queue)?.leader;
          const at = leader === undefined ? -1 : nodeNames.indexOf(leader);
          return at >= 0 ? at : undefined;
        } catch {
          // that node does not answer: ask the next
        }
      }
      return undefined;
    },
    dispose,
  };
}

/** Resident memory of a process in bytes (Linux `/proc`), or 0 when it is gone or unknown. */
export function processRss(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}
