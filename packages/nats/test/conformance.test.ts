import { runConformanceSuite, withBroker } from '@omnibus/testing';
import { afterAll } from 'vitest';
import { deleteStreams, testBus } from './nats-server.js';

await withBroker('nats', async (broker) => {
  const created = new Set<string>();
  afterAll(() => deleteStreams(broker.url, created)); // the per-test streams this run created
  await runConformanceSuite({
    name: 'nats',
    createBus: () => testBus(broker.url, created),
  });
});
