import confluent from '@confluentinc/kafka-javascript';
import { ConfigError, type EventBus } from '@omnibus/core';
import { withBroker } from '@omnibus/testing';

const { Kafka, logLevel } = confluent.KafkaJS;

import { afterEach, expect, it } from 'vitest';
import { createEventBusFromEnv } from '../src/index.js';

let bus: EventBus | undefined;
afterEach(async () => {
  await bus?.close();
  bus = undefined;
});

await withBroker('kafka', (broker) => {
  it('selects the Kafka adapter from OMNIBUS_URL (options from the query) and refuses to promise dedupe', async () => {
    const topicPrefix = `factory-${Date.now().toString(36)}.`;
    const url = `kafka://${broker.brokers.join(',')}?topicPrefix=${topicPrefix}&groupPrefix=${topicPrefix}&numPartitions=2`;
    await expect(
      createEventBusFromEnv({ OMNIBUS_URL: url, OMNIBUS_REQUIRE: 'dedupe' }),
    ).rejects.toBeInstanceOf(ConfigError);
    bus = await createEventBusFromEnv({
      OMNIBUS_URL: url,
      OMNIBUS_REQUIRE: 'durable,replay,groups,delayedNak',
    });
    expect(bus.backend).toBe('kafka');
    const sub = await bus.subscribe('factory.*');
    await bus.publish('factory.x', 'via factory');
    for await (const m of sub) {
      expect(m.text()).toBe('via factory');
      break;
    }
    await bus.close();
    bus = undefined;
    const admin = new Kafka({
      kafkaJS: { brokers: [...broker.brokers], logLevel: logLevel.NOTHING },
    }).admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(topicPrefix));
    expect(topics.sort()).toEqual([`${topicPrefix}factory`, `${topicPrefix}factory.omnibus-retry`]);
    const [meta] = await admin.fetchTopicMetadata({ topics: [`${topicPrefix}factory`] });
    expect(meta?.partitions).toHaveLength(2);
    await admin.deleteTopics({ topics });
    await admin.disconnect();
  });
});
