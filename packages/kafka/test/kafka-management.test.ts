import { type EventBus, InvalidArgumentError, manage, silentLogger } from '@omnibus/core';
import { waitFor, withBroker } from '@omnibus/testing';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type Admin, Kafka, logLevel } from '../src/client.js';
import { createKafkaBus } from '../src/index.js';
import { BROWSE_GROUP_MARK, KafkaManagement } from '../src/kafka-management.js';
import { resolveKafkaOptions } from '../src/options.js';
import { TopicRegistry } from '../src/topics.js';
import { deleteTopics } from './kafka-admin.js';

// What the conformance group cannot see: a browse that ends while publishers go on, a removal
// that holds for another bus, and the throw-away consumer group a browse reads through.

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const text = (payload: Uint8Array) => new TextDecoder().decode(payload);

await withBroker('kafka', (broker) => {
  const prefix = `omnibus-mgmt-${Date.now().toString(36)}.`;
  const brokers = [...broker.brokers];
  let admin: Admin;
  let management: KafkaManagement;
  beforeAll(async () => {
    const kafka = new Kafka({ kafkaJS: { brokers, logLevel: logLevel.NOTHING } });
    admin = kafka.admin();
    await admin.connect();
    const options = resolveKafkaOptions({ brokers, topicPrefix: prefix, groupPrefix: prefix });
    management = new KafkaManagement({ kafka, admin, topics: new TopicRegistry(admin, options), options });
  });
  afterAll(async () => {
    await admin?.disconnect();
    await deleteTopics(brokers, prefix);
  });

  async function bus(): Promise<EventBus> {
    const b = await createKafkaBus({
      brokers,
      topicPrefix: prefix,
      groupPrefix: prefix,
      logger: silentLogger,
    });
    cleanups.push(() => b.close({ timeoutMs: 2_000 }));
    return b;
  }

  const browseGroups = async () =>
    (await admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter((g) => g.startsWith(`${prefix}${BROWSE_GROUP_MARK}`));

  it('a browse ends at what was stored when it began, while a publisher keeps publishing', async () => {
    const b = await bus();
    const early = Array.from({ length: 30 }, (_, i) => `early${i}`);
    for (const t of early) await b.publish('feed.a', t);
    let stop = false;
    let late = 0;
    const publishing = (async () => {
      while (!stop) await b.publish('feed.a', `late${late++}`);
    })();
    cleanups.push(async () => {
      stop = true;
      await publishing;
    });
    await waitFor(() => late >= 5, 'the publisher going', 10_000);
    const seen: string[] = [];
    for await (const stored of management.browse('feed.>')) {
      seen.push(text(stored.payload));
      await new Promise((resolve) => setTimeout(resolve, 5)); // a slow reader: publishes go on meanwhile
    }
    const publishedWhileBrowsing = late;
    stop = true;
    await publishing;
    expect(seen.slice(0, early.length)).toEqual(early);
    const lateSeen = seen.slice(early.length);
    expect(lateSeen).toEqual(lateSeen.map((_, i) => `late${i}`)); // in order, none skipped
    expect(lateSeen.length).toBeGreaterThanOrEqual(5);
    expect(publishedWhileBrowsing).toBeGreaterThan(lateSeen.length); // more arrived, and were not waited for
  });

  it('a removed reference stays removed for another bus; a malformed one is an InvalidArgumentError', async () => {
    const a = await bus();
    const failing = await a.consume(
      'orders.x',
      () => {
        throw new Error('boom');
      },
      { maxAttempts: 1 },
    );
    for (const t of ['a', 'b', 'c']) await a.publish('orders.x', t);
    const list = (b: EventBus) => manage(b).deadLetters.list({ in: 'dlq.orders.>' });
    await waitFor(async () => (await list(a)).items.length >= 3, 'three dead letters', 20_000);
    await failing.close();
    const b = (await list(a)).items.find((dl) => text(dl.payload) === 'b');
    expect(b?.ref).toMatch(new RegExp(`^${prefix.replace('.', '\\.')}dlq:\\d+:\\d+$`));
    const purged = await manage(a).deadLetters.purge({ in: 'dlq.orders.>', refs: [b?.ref as string] });
    expect(purged.done).toBe(1);

    const other = await bus();
    expect((await list(other)).items.map((dl) => text(dl.payload))).toEqual(['a', 'c']);
    // removing again, or a record that is not there, is no error
    await management.remove([b?.ref as string, `${prefix}dlq:0:987654321`]);
    for (const bad of ['nope', `${prefix}dlq:0`, `${prefix}dlq:x:1`, 'not-ours:0:1', `${prefix}dlq:0:-1`]) {
      await expect(management.remove([b?.ref as string, bad])).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    expect((await list(other)).items.map((dl) => text(dl.payload))).toEqual(['a', 'c']);
  });

  it('a browse reads through a throw-away group that never commits and is deleted when it ends, also when left early', async () => {
    const b = await bus();
    for (let i = 0; i < 5; i++) await b.publish('trail.x', `t${i}`);
    const before = await browseGroups();
    const reading = management.browse('trail.>')[Symbol.asyncIterator]();
    expect(text(((await reading.next()).value as { payload: Uint8Array }).payload)).toBe('t0');
    const during = (await browseGroups()).filter((g) => !before.includes(g));
    expect(during).toHaveLength(1);
    expect(await admin.fetchOffsets({ groupId: during[0] as string })).toEqual([]); // nothing committed
    let rest = 0;
    while (!(await reading.next()).done) rest++;
    expect(rest).toBe(4);
    expect(await browseGroups()).toEqual(before);

    for await (const _ of management.browse('trail.>')) break; // left early: the group goes too
    expect(await browseGroups()).toEqual(before);
    const stop = new AbortController();
    let taken = 0;
    for await (const _ of management.browse('trail.>', { signal: stop.signal })) {
      taken++;
      stop.abort(); // stopped by its signal: ends there, and the group goes too
    }
    expect(taken).toBe(1);
    expect(await browseGroups()).toEqual(before);
    // nor is it listed among the bus's groups, nor is an ungrouped subscription's own group
    const sub = await b.subscribe('trail.x');
    cleanups.push(() => sub.close());
    await (await b.subscribe('trail.x', { group: 'listed' })).close();
    let groups = await manage(b).groups();
    expect(groups.map((g) => g.group)).toEqual(['listed']);
    // the closed member leaves its group once core settled what it held: a moment later
    await waitFor(
      async () => {
        groups = await manage(b).groups();
        return groups[0]?.members === 0;
      },
      'the member gone from the group',
      20_000,
    );
    expect(groups[0]).toMatchObject({ group: 'listed', patterns: ['trail.x'], lag: 0 });
    expect(groups[0]?.pending).toBeUndefined();
    expect(groups[0]?.redelivered).toBeUndefined();
  });
});
