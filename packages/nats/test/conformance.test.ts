import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { runConformanceSuite, withBroker } from '@omnibus/testing';
import { afterAll } from 'vitest';
import { createNatsBus } from '../src/index.js';

await withBroker('nats', async (broker) => {
  const created = new Set<string>();
  afterAll(async () => {
    // remove the per-test streams this run created
    const nc = await connect({ servers: broker.url });
    const jsm = await jetstreamManager(nc);
    for (const name of created) await jsm.streams.delete(name).catch(() => false);
    await nc.close();
  });
  await runConformanceSuite({
    name: 'nats',
    createBus: async () => {
      const bus = await createNatsBus({ url: broker.url, streamPrefix: 'OMNIBUS_TEST' });
      const close = bus.close.bind(bus);
      bus.close = async (options) => {
        for (const name of bus.createdStreams) created.add(name);
        await close(options);
      };
      return bus;
    },
  });
});
