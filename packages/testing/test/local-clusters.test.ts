import { Connection } from 'rabbitmq-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  processRss,
  startLocalNatsCluster,
  startLocalRabbitMqCluster,
  startLocalRedisCluster,
} from '../src/index.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function jetstreamLeader(monitorUrl: string): Promise<string | undefined> {
  const jsz = (await (await fetch(`${monitorUrl}/jsz`)).json()) as { meta_cluster?: { leader?: string } };
  return jsz.meta_cluster?.leader;
}

describe('local clusters', () => {
  it('NATS: three JetStream nodes in one cluster; a node stopped by its PID comes back', async () => {
    const cluster = await startLocalNatsCluster();
    cleanups.push(() => cluster.dispose());
    expect(cluster.urls).toHaveLength(3);
    expect(cluster.names).toContain(await jetstreamLeader(cluster.monitorUrls[0] as string));
    const pids = cluster.pids();
    expect(pids.every((pid) => processRss(pid) > 0)).toBe(true);
    await cluster.stopNode(1);
    expect(cluster.pids()[1]).toBeUndefined();
    expect(processRss(pids[1])).toBe(0);
    await cluster.startNode(1);
    expect(cluster.pids()[1]).not.toBe(pids[1]);
    expect(cluster.names).toContain(await jetstreamLeader(cluster.monitorUrls[1] as string));
    expect(await cluster.streamLeader('NO_SUCH_STREAM')).toBeUndefined();
  });

  it('Redis: three masters share the slots; the owner of a key is known and survives a restart', async () => {
    const cluster = await startLocalRedisCluster({ aof: true });
    cleanups.push(() => cluster.dispose());
    expect(cluster.nodes).toHaveLength(3);
    const owners = new Set<number>();
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) owners.add(await cluster.slotOwner(key));
    expect([...owners].every((n) => n >= 0 && n < 3)).toBe(true);
    expect(owners.size).toBeGreaterThan(1);
    // a hash tag decides the slot: `{x}:anything` lives with `x`
    expect(await cluster.slotOwner('{omnibus}:s:orders')).toBe(await cluster.slotOwner('omnibus'));
    const owner = await cluster.slotOwner('{omnibus}');
    await cluster.stopNode(owner);
    expect(cluster.pids()[owner]).toBeUndefined();
    await cluster.startNode(owner);
    expect(await cluster.slotOwner('{omnibus}')).toBe(owner);
  });

  it('RabbitMQ: three nodes in one cluster; a quorum queue has a leader; a killed node rejoins', async () => {
    const cluster = await startLocalRabbitMqCluster();
    cleanups.push(() => cluster.dispose());
    expect(cluster.urls).toHaveLength(3);
    const status = JSON.parse(await cluster.ctl(2, ['cluster_status', '--formatter', 'json'])) as {
      running_nodes: string[];
    };
    expect([...status.running_nodes].sort()).toEqual([...cluster.nodeNames].sort());
    const connection = new Connection({ url: cluster.urls[1] as string, retryLow: 100, retryHigh: 1_000 });
    connection.on('error', () => undefined); // the node it is on may be the one killed
    cleanups.push(() => connection.close());
    await connection.queueDeclare({ queue: 'q', durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const leader = await cluster.queueLeader('q');
    expect(leader).toBeGreaterThanOrEqual(0);
    expect(await cluster.queueLeader('no-such-queue')).toBeUndefined();
    const pids = cluster.pids();
    await cluster.stopNode(leader as number);
    expect(cluster.pids()[leader as number]).toBeUndefined();
    expect(processRss(pids[leader as number])).toBe(0);
    // the two left elect another leader
    let next: number | undefined;
    for (let i = 0; i < 100 && (next === undefined || next === leader); i++) {
      next = await cluster.queueLeader('q');
      if (next === undefined || next === leader) await new Promise((r) => setTimeout(r, 200));
    }
    expect(next).toBeGreaterThanOrEqual(0);
    expect(next).not.toBe(leader);
    await cluster.startNode(leader as number);
    expect(cluster.pids()[leader as number]).not.toBe(pids[leader as number]);
  }, 180_000);
});
