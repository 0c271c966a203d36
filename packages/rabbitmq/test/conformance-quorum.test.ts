// The conformance suite again with quorum queues for groups, delays and the dead-letter store
// (`queueType: 'quorum'`): the type a cluster uses. Its report is conformance-rabbitmq-quorum.json.
import { silentLogger } from '@omnibus/core';
import { runConformanceSuite, withBroker } from '@omnibus/testing';
import { afterAll } from 'vitest';
import { createRabbitMqBus } from '../src/index.js';
import { deleteBusObjects } from './rabbitmq-server.js';

await withBroker('rabbitmq', async (broker) => {
  const run = `omnibus-test-q-${process.pid}-${Date.now().toString(36)}`;
  afterAll(() => deleteBusObjects(broker.url, run));
  await runConformanceSuite({
    name: 'rabbitmq-quorum',
    createBus: () =>
      createRabbitMqBus({
        url: broker.url,
        exchange: run,
        queuePrefix: `${run}.`,
        queueType: 'quorum',
        logger: silentLogger,
      }),
  });
});
