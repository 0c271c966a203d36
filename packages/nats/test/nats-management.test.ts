import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { InvalidArgumentError, manage, type StoredMessage, silentLogger } from '@omnibus/core';
import { waitFor } from '@omnibus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConnection } from '../src/connection.js';
import { LEDGER_STREAM } from '../src/hand-out-ledger.js';
import { createNatsBus, type NatsBus } from '../src/index.js';
import { NatsDriver } from '../src/nats-driver.js';
import { resolveNatsOptions } from '../src/options.js';
import { type LocalNatsServer, startNatsServer } from './nats-server.js';

// A private server: browsing `>` must see only what this file stored.
let server: LocalNatsServer;
let bus: NatsBus;
/** A second connection's driver, as an operator's tool (the CLI) would use it. */
let driver: NatsDriver;

beforeAll(async () => {
  server = await startNatsServer();
  bus = await createNatsBus({ url: server.url, logger: silentLogger });
  const options = resolveNatsOptions({ url: server.url, logger: silentLogger });
  const { nc, owned } = await openConnection(options);
  driver = await NatsDriver.create(nc, owned, options);
}, 30_000);

afterAll(async () => {
  await bus?.close();
  await driver?.close();
  await server?.dispose();
});

async function browse(pattern: string, signal?: AbortSignal): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  for await (const m of driver.management.browse(pattern, signal ? { signal } : {})) out.push(m);
  return out;
}

const seqOf = (ref: string) => Number(ref.slice(ref.lastIndexOf(':') + 1));

describe('NATS management: browse', () => {
  it('ends at what was stored when it began while a publisher keeps publishing', async () => {
    for (let i = 0; i < 50; i++) await bus.publish('feed.a', `m${i}`, { headers: { n: String(i) } });
    await bus.publish('feed.b', 'other');
    let stop = false;
    let published = 0;
    const publisher = (async () => {
      while (!stop) {
        await bus.publish('feed.a', `late${published}`);
        published++;
      }
    })();
    try {
      await waitFor(() => published >= 5, 'the publisher running');
      const seen: StoredMessage[] = [];
      for await (const m of driver.management.browse('feed.a')) {
        seen.push(m);
        await new Promise((resolve) => setTimeout(resolve, 2)); // slower than the publisher
      }
      const first = seen.slice(0, 50);
      expect(first.map((m) => new TextDecoder().decode(m.payload))).toEqual(
        Array.from({ length: 50 }, (_, i) => `m${i}`),
      );
      expect(first[7]?.headers).toEqual({ n: '7' });
      expect(seen.every((m) => m.subject === 'feed.a' && m.ref.startsWith('OMNIBUS_feed:'))).toBe(true);
      const seqs = seen.map((m) => seqOf(m.ref));
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      // the publisher outran the browse: what arrived after its start was not waited for
      const jsm = await jetstreamManager(driver.nc);
      const last = (await jsm.streams.info('OMNIBUS_feed')).state.last_seq;
      expect(Math.max(...seqs)).toBeLessThan(last);
    } finally {
      stop = true;
      await publisher;
    }
  });

  it('stops when its signal aborts', async () => {
    const stop = new AbortController();
    const seen: StoredMessage[] = [];
    for await (const m of driver.management.browse('feed.a', { signal: stop.signal })) {
      seen.push(m);
      if (seen.length === 3) stop.abort();
    }
    expect(seen).toHaveLength(3);
    expect(await browse('feed.a', AbortSignal.abort())).toEqual([]);
  });

  it("never lists Omnibus's own streams: the hand-out ledger and the group registry", async () => {
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams
        .add({ name: LEDGER_STREAM, subjects: ['_omnibus.handouts.>'] })
        .catch(() => undefined); // made by a redelivery already
      await jetstream(nc).publish('_omnibus.handouts.OMNIBUS_work.g.1', '2');
    } finally {
      await nc.close();
    }
    await (await bus.subscribe('work.item', { group: 'registered' })).close(); // a registry entry
    await bus.publish('work.item', 'w');
    const all = await browse('>');
    expect(all.length).toBeGreaterThan(0);
    for (const m of all) {
      expect(m.ref.startsWith(`${LEDGER_STREAM}:`)).toBe(false);
      expect(m.ref.startsWith('OMNIBUS__GROUPS:')).toBe(false);
      expect(m.subject.startsWith('_')).toBe(false);
    }
    expect(all.map((m) => m.subject)).toContain('work.item');
  });
});

describe('NATS management: remove', () => {
  it('a reference already gone is not an error; a malformed one is refused before anything is deleted', async () => {
    for (const t of ['r0', 'r1', 'r2']) await bus.publish('rm.x', t);
    const [r0, r1, r2] = (await browse('rm.x')).map((m) => m.ref) as [string, string, string];
    await driver.management.remove([r1]); // a gap browse reads across
    await driver.management.remove([r1]); // gone: fine
    await driver.management.remove(['OMNIBUS_nosuchstream:1']); // the stream is gone too: fine
    for (const bad of ['rm', 'OMNIBUS_rm:', 'OMNIBUS_rm:0', 'OMNIBUS_rm:-1', 'OMNIBUS_rm:1.5', ':1']) {
      await expect(driver.management.remove([r0, bad])).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    // Omnibus's own streams and streams of other applications are not this bus's to delete from
    for (const foreign of [`${LEDGER_STREAM}:1`, 'OMNIBUS__GROUPS:1', 'OTHER_APP:1']) {
      await expect(driver.management.remove([r0, foreign])).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    expect((await browse('rm.x')).map((m) => m.ref)).toEqual([r0, r2]);
    await driver.management.remove([r0, r2]);
    expect(await browse('rm.x')).toEqual([]);
  });
});

describe('NATS management: groups', () => {
  it('a group spanning streams is summed over its durables; ungrouped subscriptions are not groups', async () => {
    await bus.publish('ga.jobs', 'first');
    await bus.publish('gb.jobs', 'first');
    await (await bus.subscribe('*.jobs', { group: 'spread' })).close();
    const ungrouped = await bus.subscribe('ga.jobs');
    try {
      for (let i = 0; i < 2; i++) await bus.publish('ga.jobs', `a${i}`);
      for (let i = 0; i < 3; i++) await bus.publish('gb.jobs', `b${i}`);
      const find = async () => (await driver.management.groups()).find((g) => g.group === 'spread');
      await waitFor(async () => (await find())?.lag === 5, 'lag 5 over both streams');
      const spread = await find();
      expect(spread).toEqual({ group: 'spread', patterns: ['*.jobs'], lag: 5, pending: 0, redelivered: 0 });
      const all = await manage(bus).groups();
      expect(all.map((g) => g.group)).toContain('spread');
      expect(all.some((g) => g.group.startsWith('omnibus_'))).toBe(false);
      expect(all.find((g) => g.group === 'registered')?.patterns).toEqual(['work.item']);
    } finally {
      await ungrouped.close();
    }
  });
});
