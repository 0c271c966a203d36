import { silentLogger } from '@omnibus/core';
import { runConformanceSuite, withBroker } from '@omnibus/testing';
import { afterAll } from 'vitest';
import { createRabbitMqBus } from '../src/index.js';
import { deleteBusObjects } from './rabbitmq-server.js';

await withBroker('rabbitmq', async (broker) => {
  // an exchange and queue prefix per run: tests on a shared broker never see each other's queues
  const run = `omnibus-test-${process.pid}-${Date.now().toString(36)}`;
  afterAll(() => deleteBusObjects(broker.url, run));
  await runConformanceSuite({
    name: 'rabbitmq',
    createBus: () =>
      createRabbitMqBus({ url: broker.url, exchange: run, queuePrefix: `${run}.`, logger: silentLogger }),
  });
});
