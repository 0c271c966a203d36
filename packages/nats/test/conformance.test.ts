import { silentLogger } from '@omnibus/core';
import { runConformanceSuite, withBroker } from '@omnibus/testing';
import { afterAll } from 'vitest';
import { createNatsBus } from '../src/index.js';
import { deleteStreams } from './nats-server.js';

await withBroker('nats', async (broker) => {
  const created = new Set<string>();
  afterAll(() => deleteStreams(broker.url, created)); // the per-test streams this run created
  await runConformanceSuite({
    name: 'nats',
    createBus: async () => {
      const bus = await createNatsBus({
        url: broker.url,
        streamPrefix: 'OMNIBUS_TEST',
        logger: silentLogger,
      });
      const close = bus.close.bind(bus);
      bus.close = async (options) => {
        for (const name of bus.createdStreams) created.add(name);
        await close(options);
      };
      return bus;
    },
  });
});
