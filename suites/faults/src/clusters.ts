// Cluster fault scenarios: a node of a 3-node cluster killed, or paused, under
// load. Each scenario starts its own cluster on spare loopback ports (never the
// machine's shared brokers), stops, pauses and starts nodes by their PIDs, and
// returns one row of reports/faults.json.
import { freemem } from 'node:os';
import { type BusStatus, type EventBus, silentLogger } from '@omnibus/core';
import { createKafkaBus } from '@omnibus/kafka';
import { createNatsBus } from '@omnibus/nats';
import { createRabbitMqBus } from '@omnibus/rabbitmq';
import { createRedisBus } from '@omnibus/redis';
import {
  type LocalCluster,
  processRss,
  startLocalKafkaCluster,
  startLocalNatsCluster,
  startLocalRabbitMqCluster,
  startLocalRedisCluster,
} from '@omnibus/testing';
import { Cluster } from 'ioredis';
import { History } from './history.js';
import { type FaultRow, type Progress, row, waitDelivered } from './scenarios.js';
import { StatusLog } from './status-log.js';

/** What happens to the node: SIGKILLed (and started again later), or SIGSTOPped for `PAUSE_MS`, then SIGCONTed. */
type NodeFault = 'kill' | 'pause';
const SCENARIOS: Record<NodeFault, string> = {
  kill: 'cluster node lost under load',
  pause: 'cluster node paused under load',
};
/** How long a paused node stays frozen: longer than the brokers' own failure detection (NATS and Kafka, about 10 s). */
const PAUSE_MS = 20_000;
/** Publishing stops after this long, published or not: the scenario stays bounded. */
const LOAD_LIMIT_MS = 90_000;
/** Longest wait for the consumer to catch up once publishing is over. */
const DELIVERY_LIMIT_MS = 60_000;

/** A publisher whose publish was rejected waits this long before its next one. */
const REJECTED_PAUSE_MS = 100;

/** Free memory below which the Kafka cluster is not started. */
const KAFKA_CLUSTER_NEEDS = 2 * 1024 ** 3;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

/** A running cluster as the scenario drives it. */
interface ClusterUnderTest {
  readonly cluster: LocalCluster;
  /** A bus on the whole cluster (every node as a seed), reporting to `onStatus`. */
  createBus(onStatus: (status: BusStatus) => void): Promise<EventBus>;
  /** The node to stop, and why that one. */
  victim(): Promise<{ node: number; why: string }>;
  /** Start the node again this long after the fault (no replica can take over); else once publishing is over. */
  readonly restartAfterMs?: number;
  /** Closes what the scenario opened besides buses (clients it owns). */
  close?(): Promise<void>;
}

/** One cluster scenario of one backend. */
export interface ClusterScenario {
  readonly backend: string;
  readonly scenario: string;
  /** Starts the cluster, runs the load and the fault, stops the cluster; never rejects for a failed check. */
  run(progress: Progress): Promise<FaultRow>;
}

/**
 * A cluster node lost (or paused) under load: `total` messages from `publishers`
 * concurrent publishers (each its own subject, awaited one by one) into a 3-node
 * cluster, a grouped consumer reading them all; at about one third one node (the
 * one leading the data where that can be told) is SIGKILLed — and started again
 * at once after `restartAfterMs`, else once publishing is over, so that the load
 * runs on two nodes — or SIGSTOPped for `PAUSE_MS` and then SIGCONTed. Recovery
 * is, over all publishers, the longest time from the fault to that publisher's
 * next acknowledged publish. Passes with 0 lost acknowledged publishes, 0 out of
 * order and every publisher acknowledged again after the fault; what the buses
 * reported through their status hook is given, not judged.
 */
async function nodeFaultUnderLoad(
  backend: string,
  fault: NodeFault,
  start: () => Promise<ClusterUnderTest>,
  progress: Progress,
  total = 5_000,
  publishers = 10,
): Promise<FaultRow> {
  const SCENARIO = SCENARIOS[fault];
  const began = Date.now();
  progress(`${backend} · ${SCENARIO} · starting a 3-node cluster`);
  const setup = await start();
  const { cluster } = setup;
  const startedIn = Date.now() - began;
  const history = new History();
  const statusLog = new StatusLog();
  let peakBrokers = 0;
  let peakSelf = 0;
  const sample = () => {
    const brokers = cluster.pids().reduce<number>((sum, pid) => sum + processRss(pid), 0);
    peakBrokers = Math.max(peakBrokers, brokers);
    peakSelf = Math.max(peakSelf, process.memoryUsage().rss);
  };
  sample();
  let acked = 0;
  let delivered = 0;
  let victim: { node: number; why: string } | undefined;
  let faultAt: number | undefined;
  let resumedAt: number | undefined;
  let ackedAtFault = 0;
  let restartedIn: number | undefined;
  let faulting: Promise<void> | undefined;
  let faultError: unknown;
  const rejections = new Map<string, number>(); // why publishes were rejected → how many
  const recovery = new Map<number, number>(); // publisher → ms from the fault to its next ack
  const buses: EventBus[] = [];
  const ticker = setInterval(() => {
    sample();
    const down = fault === 'pause' ? resumedAt === undefined : restartedIn === undefined;
    const state =
      victim === undefined
        ? ''
        : `, node ${victim.node} ${down ? (fault === 'pause' ? 'paused' : 'down') : 'back'}`;
    progress(
      `${backend} · ${SCENARIO} · ${acked.toLocaleString('en')}/${total.toLocaleString('en')} acknowledged, ${delivered.toLocaleString('en')} delivered${state}`,
    );
  }, 500);
  const restart = async () => {
    if (fault === 'pause' || victim === undefined || restartedIn !== undefined) return;
    const t = Date.now();
    await cluster.startNode(victim.node);
    restartedIn = Date.now() - t;
  };
  const startFault = () => {
    faulting = (async () => {
      victim = await setup.victim();
      ackedAtFault = acked;
      if (fault === 'pause') {
        const { node } = victim;
        cluster.pauseNode(node, true);
        faultAt = Date.now();
        try {
          await sleep(PAUSE_MS);
        } finally {
          cluster.pauseNode(node, false);
          resumedAt = Date.now();
        }
        return;
      }
      await cluster.stopNode(victim.node);
      faultAt = Date.now(); // the node is gone (its process exited): acks from here are recoveries
      if (setup.restartAfterMs !== undefined) {
        await sleep(setup.restartAfterMs);
        await restart();
      }
    })().catch((error) => {
      faultError = error;
    });
  };
  let timedOut = false;
  let deliveredIn: number | undefined;
  try {
    const publisher = await setup.createBus(statusLog.hook('publisher'));
    buses.push(publisher);
    const consumerBus = await setup.createBus(statusLog.hook('consumer'));
    buses.push(consumerBus);
    const consumer = await consumerBus.consume(
      'clusters.*',
      (m) => {
        history.deliver(m.id, 'group', m.attempt);
        delivered++;
      },
      {
        group: 'faults',
        maxInFlight: 200,
      },
    );
    const payload = new Uint8Array(128).fill(4);
    const perPublisher = Math.ceil(total / publishers);
    const loadDeadline = Date.now() + LOAD_LIMIT_MS;
    await Promise.all(
      Array.from({ length: publishers }, async (_, p) => {
        for (let i = 0; i < perPublisher; i++) {
          if (Date.now() > loadDeadline) {
            timedOut = true;
            return;
          }
          const id = `p${p}-${i}`;
          history.publish(id, `clusters.p${p}`, `p${p}`);
          try {
            const issuedAt = Date.now();
            await publisher.publish(`clusters.p${p}`, payload, { id });
            history.outcome(id, 'acknowledged');
            acked++;
            // a frozen node may have answered just before it froze: after a pause only a publish
            // issued after the fault shows recovery (after a kill, any later ack does)
            const counts = faultAt !== undefined && (fault === 'kill' || issuedAt >= faultAt);
            if (counts && !recovery.has(p)) recovery.set(p, Date.now() - (faultAt as number));
            if (faulting === undefined && acked >= Math.floor(total / 3)) startFault();
          } catch (error) {
            history.outcome(id, 'rejected');
            const message = String((error as Error)?.message ?? error);
            const cause = (error as { cause?: { message?: string } })?.cause?.message;
            // the cause only when it says more than the message (some clients repeat it)
            const why = `${message}${cause && !message.includes(cause) ? ` (cause: ${cause})` : ''}`.replace(
              /p\d+-\d+|clusters\.p\d+/g,
              '…',
            );
            rejections.set(why, (rejections.get(why) ?? 0) + 1);
            // as an application would: a moment before the next, so that a bus rejecting at
            // once does not burn through the whole load while the cluster fails over
            await sleep(REJECTED_PAUSE_MS);
          }
        }
      }),
    );
    const published = Date.now();
    await faulting;
    const deliveredBy = Date.now() + DELIVERY_LIMIT_MS;
    await waitDelivered(history, DELIVERY_LIMIT_MS);
    deliveredIn = history.missing() === 0 ? Date.now() - published : undefined;
    // then the node comes back (if it is not back yet) and the consumer goes on with it
    await restart().catch((error) => {
      faultError = error;
    });
    await waitDelivered(history, Math.max(0, deliveredBy - Date.now()));
    sample();
    await consumer.close().catch(() => undefined);
  } finally {
    clearInterval(ticker);
    for (const bus of buses) await bus.close({ timeoutMs: 2_000 }).catch(() => undefined);
    await setup.close?.().catch(() => undefined);
    await cluster.dispose().catch(() => undefined);
  }
  const report = history.check();
  const unrecovered = Array.from({ length: publishers }, (_, p) => p).filter((p) => !recovery.has(p));
  const recoveryMs =
    faultAt === undefined || unrecovered.length > 0 ? null : Math.max(0, ...recovery.values());
  // connection reports of each bus from the fault on, as `lost +3.1 s` (time from the fault)
  const reported = (bus: string) =>
    faultAt === undefined
      ? []
      : statusLog.entries
          .filter((e) => e.bus === bus && e.at >= (faultAt as number) && e.status.connection)
          .map((e) => `${e.status.connection} +${seconds(e.at - (faultAt as number))}`);
  const reports = ['publisher', 'consumer'].map((bus) => ({ bus, events: reported(bus) }));
  const what =
    fault === 'pause'
      ? `SIGSTOPped for ${seconds(PAUSE_MS)} at ${ackedAtFault} acknowledged (${victim?.why}), then SIGCONTed`
      : `SIGKILLed at ${ackedAtFault} acknowledged (${victim?.why}); started again ${
          setup.restartAfterMs !== undefined
            ? `after ${seconds(setup.restartAfterMs)}`
            : 'once publishing was over'
        }${restartedIn === undefined ? ' — did not come back' : `, back in ${seconds(restartedIn)}`}`;
  const note = [
    victim
      ? `node ${victim.node} of 3 ${what}`
      : 'the fault never happened (fewer than a third acknowledged)',
    report.outOfOrder > 0
      ? `out of order: ${report.outOfOrderDeliveries.map((d) => `${d.id} (attempt ${d.attempt})`).join(', ')}`
      : '',
    `connection reports: ${reports.map((r) => `${r.bus} ${r.events.length > 0 ? r.events.join(', ') : 'none'}`).join('; ')}`,
    faultError ? `fault failed: ${(faultError as Error)?.message ?? faultError}` : '',
    unrecovered.length > 0
      ? `publishers ${unrecovered.map((p) => `p${p}`).join(', ')} never had a publish acknowledged after the fault`
      : '',
    rejections.size > 0
      ? `rejected because: ${[...rejections]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([why, n]) => `${n}× ${why}`)
          .join(' | ')}`
      : '',
    timedOut ? `publishing stopped at its ${seconds(LOAD_LIMIT_MS)} limit` : '',
    deliveredIn === undefined
      ? `the consumer had not caught up ${seconds(DELIVERY_LIMIT_MS)} after the last publish`
      : `consumer caught up ${seconds(deliveredIn)} after the last publish`,
    `cluster started in ${seconds(startedIn)}; scenario ran ${seconds(Date.now() - began)}`,
    `peak RSS: brokers ${mb(peakBrokers)} (3 nodes), test process ${mb(peakSelf)}`,
  ]
    .filter(Boolean)
    .join('; ');
  const result = row({ backend }, SCENARIO, report, recoveryMs, note);
  return {
    ...result,
    passed: result.passed && faultAt !== undefined && !faultError && unrecovered.length === 0,
  };
}

/** The node leading `name` (a `what`), or node 0 when no leader was reported. */
function leaderOrFirst(
  leader: number | undefined,
  name: string,
  what: string,
): { node: number; why: string } {
  return leader === undefined
    ? { node: 0, why: `no leader of ${name} reported: node 0` }
    : { node: leader, why: `the leader of ${what} ${name}` };
}

/** NATS: three `nats-server`s with JetStream; the stream has 3 replicas; its leader is stopped. */
async function natsCluster(): Promise<ClusterUnderTest> {
  const cluster = await startLocalNatsCluster();
  const stream = 'OMNIBUS_clusters'; // the automatic stream of subjects `clusters.*`
  return {
    cluster,
    createBus: (onStatus) =>
      createNatsBus({
        url: cluster.urls,
        onStatus,
        streamDefaults: { replicas: 3 },
        logger: silentLogger,
        publishTimeoutMs: 20_000,
      }),
    victim: async () => leaderOrFirst(await cluster.streamLeader(stream), stream, 'the R3 stream'),
  };
}

/**
 * Redis Cluster: three masters, no replicas (as the issue asks: `--cluster-replicas 0`),
 * append-only with fsync always. A bus lives in one hash slot, so the master that owns
 * it is stopped; with no replica to promote, it is started again after 5 s.
 */
async function redisCluster(): Promise<ClusterUnderTest> {
  const cluster = await startLocalRedisCluster({ aof: true });
  const keyPrefix = `faults${Date.now().toString(36)}`;
  const clients: Cluster[] = [];
  return {
    cluster,
    restartAfterMs: 5_000,
    async createBus(onStatus) {
      const client = new Cluster(cluster.nodes);
      clients.push(client);
      return createRedisBus({ client, keyPrefix, logger: silentLogger, publishTimeoutMs: 20_000, onStatus });
    },
    async victim() {
      const node = await cluster.slotOwner(`{${keyPrefix}}`);
      return { node, why: "the master of the bus's hash slot" };
    },
    async close() {
      for (const client of clients) client.disconnect();
    },
  };
}

/**
 * Kafka: three KRaft brokers (each also a controller), topics with replication
 * factor 3 and `min.insync.replicas` 2. Leaders of a 3-partition topic are spread
 * one per broker, so node 0 leads a third of the subjects.
 */
async function kafkaCluster(): Promise<ClusterUnderTest> {
  // three JVMs of up to 512 MB heap each: about 1.2 GB resident under this load
  if (freemem() < KAFKA_CLUSTER_NEEDS)
    throw new Error(
      `not run: 3 Kafka brokers need about ${mb(KAFKA_CLUSTER_NEEDS)} of free memory, ${mb(freemem())} free`,
    );
  const cluster = await startLocalKafkaCluster();
  return {
    cluster,
    createBus: (onStatus) =>
      createKafkaBus({
        brokers: cluster.brokers,
        onStatus,
        topics: { replicationFactor: 3 },
        logger: silentLogger,
        connectTimeoutMs: 30_000,
      }),
    victim: async () => ({ node: 0, why: 'a broker that leads one of the three partitions' }),
  };
}

/**
 * RabbitMQ: three nodes in one cluster, the group's queue (and its delay queues, the dead-letter
 * store) quorum queues with a member on each node; the bus knows every node (`hosts`), so it
 * reconnects to another. The node that leads the group's queue is stopped.
 */
async function rabbitMqCluster(): Promise<ClusterUnderTest> {
  const cluster = await startLocalRabbitMqCluster();
  const queue = 'omnibus.group.faults';
  return {
    cluster,
    createBus: (onStatus) =>
      createRabbitMqBus({
        url: cluster.urls[0],
        connectionOptions: { hosts: cluster.hosts },
        queueType: 'quorum',
        onStatus,
        logger: silentLogger,
        publishTimeoutMs: 20_000,
      }),
    victim: async () => leaderOrFirst(await cluster.queueLeader(queue), queue, 'the quorum queue'),
  };
}

/** The cluster scenarios: per broker backend, a node killed, then a node paused. */
export const clusterScenarios: readonly ClusterScenario[] = (
  [
    ['nats', natsCluster],
    ['redis', redisCluster],
    ['kafka', kafkaCluster],
    ['rabbitmq', rabbitMqCluster],
  ] as const
).flatMap(([backend, start]) =>
  (['kill', 'pause'] as const).map((fault) => ({
    backend,
    scenario: SCENARIOS[fault],
    run: (progress: Progress) => nodeFaultUnderLoad(backend, fault, start, progress),
  })),
);

/** The scenario's paragraph for docs/reliability.md (a list item, like the others). */
export const clusterScenarioDoc = `- **cluster node lost under load** — a 3-node cluster on loopback, started by the suite: NATS
  (three \`nats-server\`s with JetStream, the stream with 3 replicas), Redis Cluster (three masters,
  \`--cluster-replicas 0\`, append-only with fsync always) and Kafka (three KRaft brokers, each
  also a controller, replication factor 3, \`min.insync.replicas\` 2; not started with less than
  2 GB of free memory) and RabbitMQ (three nodes joined with \`rabbitmqctl join_cluster\`, the
  group's queue a quorum queue with a member on each node, the bus given every node's address).
  5,000 messages from 10 concurrent publishers (each its own subject, awaited
  one by one) and a grouped consumer; at about one third one node is killed (SIGKILL): the NATS
  stream's leader, the Redis master that owns the bus's hash slot, a Kafka broker that leads one
  of the topic's three partitions, the node leading RabbitMQ's quorum queue. NATS, Kafka and
  RabbitMQ carry on with two nodes (new leaders are
  elected; Kafka's controller first waits out the dead broker's session, 9 s by default) and the
  node is started again once publishing is over; a Redis master has no replica to take over, so
  it is started again after 5 s. A publisher whose publish was rejected pauses 100 ms before its
  next one, as an application would. **Recovery** here is the longest time, over the publishers,
  from the fault to that publisher's next acknowledged publish (after a pause, of a publish issued after
  the fault: the node may have answered one just before it froze); a publisher that never got one
  fails the scenario. The notes give why publishes were rejected, what each bus reported through
  its status hook and the brokers' peak memory.
- **cluster node paused under load** — the same clusters, load and node, but the node is frozen
  (SIGSTOP) for ${PAUSE_MS / 1000} s and then thawed (SIGCONT): a member that stops answering without closing
  its sockets, for longer than NATS's and Kafka's own failure detection. Same checks: nothing
  acknowledged lost, nothing out of order, every publisher acknowledged again. What each bus
  reported through its status hook is given in the notes, not judged: a bus whose server, group
  coordinator or partition leader is the paused node does stall (its requests wait for that node),
  and says so.`;
