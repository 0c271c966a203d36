import { silentLogger } from '@omnibus/core';
import { runConformanceSuite, withBroker } from '@omnibus/testing';
import { afterAll } from 'vitest';
import { createKafkaBus } from '../src/index.js';
import { deleteTopics } from './kafka-admin.js';

await withBroker('kafka', async (broker) => {
  // a topic prefix per run: tests on a shared broker never see each other's topics
  const topicPrefix = `omnibus-test-${Date.now().toString(36)}.`;
  afterAll(() => deleteTopics([...broker.brokers], topicPrefix));
  await runConformanceSuite({
    name: 'kafka',
    createBus: () =>
      createKafkaBus({
        brokers: [...broker.brokers],
        topicPrefix,
        groupPrefix: topicPrefix,
        logger: silentLogger,
      }),
  });
});
