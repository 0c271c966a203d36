// A nak whose retry-topic copy the broker will not store: the message must come back, the
// partition must not stop committing at it, and the producer whose send failed is not used again.
import { type EventBus, type Message, silentLogger } from '@omnibus/core';
import { reader, withBroker } from '@omnibus/testing';
import { type Admin, ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, expect, it } from 'vitest';
import { META } from '../src/envelope.js';
import { createKafkaBus, type KafkaBusOptions } from '../src/index.js';
import { RETRY_SUFFIX } from '../src/topics.js';
import { deleteTopics } from './kafka-admin.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

await withBroker('kafka', (broker) => {
  const prefix = `omnibus-retrycopy-${Date.now().toString(36)}.`;
  afterAll(() => deleteTopics([...broker.brokers], prefix));
  const kafka = new Kafka({ brokers: [...broker.brokers], logLevel: logLevel.NOTHING });

  async function bus(options: KafkaBusOptions = {}): Promise<EventBus> {
    const b = await createKafkaBus({
      brokers: [...broker.brokers],
      topicPrefix: prefix,
      groupPrefix: prefix,
      logger: silentLogger,
      ...options,
    });
    cleanups.push(() => b.close({ timeoutMs: 2_000 }));
    return b;
  }

  async function admin(): Promise<Admin> {
    const a = kafka.admin();
    await a.connect();
    cleanups.push(() => a.disconnect());
    return a;
  }

  /** Makes the broker refuse every record sent to `topic` (MESSAGE_TOO_LARGE), and waits until it does. */
  async function refuseWrites(a: Admin, topic: string): Promise<void> {
    await a.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [{ name: 'max.message.bytes', value: '1' }],
        },
      ],
    });
    const probe = kafka.producer({ retry: { retries: 0 } });
    await probe.connect();
    try {
      await until('the broker to refuse writes to the retry topic', async () => {
        try {
          // a copy for no group of ours: skipped by every subscription should it be stored
          await probe.send({ topic, messages: [{ value: 'probe', headers: { [META.group]: 'nobody' } }] });
          return undefined;
        } catch {
          return true;
        }
      });
    } finally {
      await probe.disconnect();
    }
  }

  it('a nak whose retry copy is refused: the message comes back at attempt 2 from the member, and the partition commits past it', async () => {
    const statuses: string[] = [];
    const b = await bus({ publishTimeoutMs: 3_000, onStatus: (s) => statuses.push(s.type) });
    const r = reader(await b.subscribe('refused.x', { ack: 'manual', group: 'g' }), 20_000);
    const a = await admin();
    await refuseWrites(a, `${prefix}refused${RETRY_SUFFIX}`);

    for (const v of ['a', 'b', 'c']) await b.publish('refused.x', v);
    const first = await r.next();
    expect([first.text(), first.attempt]).toEqual(['a', 1]);
    await first.nak();
    const rest: Message[] = [];
    for (let i = 0; i < 3; i++) rest.push(await r.next());
    expect(rest.map((m) => m.text()).sort()).toEqual(['a', 'b', 'c']);
    const again = rest.find((m) => m.text() === 'a') as Message;
    expect(again.attempt).toBe(2);
    for (const m of rest) await m.ack();
    expect(await r.nothingWithin(500)).toBeUndefined();

    // the failed sends are reported
    expect(statuses).toContain('retry_copy_failed');
    // every partition of the subject topic is committed to its end: nothing holds the commit point
    const topic = `${prefix}refused`;
    await until('the group to commit every partition to its end', async () => {
      const ends = await a.fetchTopicOffsets(topic);
      const [committed] = await a.fetchOffsets({ groupId: `${prefix}g`, topics: [topic] });
      const all = ends.every(
        (e) => committed?.partitions.find((p) => p.partition === e.partition)?.offset === e.high,
      );
      return all ? true : undefined;
    });
  }, 60_000);

  it('a retry copy refused on close (grouped, handed out, unsettled) is left uncommitted: the next member gets it', async () => {
    const b = await bus({ publishTimeoutMs: 2_000 });
    const subscription = await b.subscribe('refusedclose.x', { ack: 'manual', group: 'g2' });
    const r = reader(subscription, 20_000);
    const a = await admin();
    await refuseWrites(a, `${prefix}refusedclose${RETRY_SUFFIX}`);
    await b.publish('refusedclose.x', 'held');
    const held = await r.next();
    expect(held.text()).toBe('held');
    await subscription.close(); // released unsettled: its retry copy cannot be stored
    const next = reader(await b.subscribe('refusedclose.x', { ack: 'manual', group: 'g2' }), 30_000);
    const m = await next.next();
    expect(m.text()).toBe('held');
    await m.ack();
  }, 60_000);
});
