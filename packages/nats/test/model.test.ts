import { silentLogger } from '@omnibus/core';
import { checkContractModel, withBroker } from '@omnibus/testing';
import { afterAll, expect, it } from 'vitest';
import { createNatsBus } from '../src/index.js';
import { deleteStreams } from './nats-server.js';

// A fixed budget of random histories in CI; `pnpm test:model --runs N` soaks longer (OMNIBUS_MODEL_RUNS).
const runs = Number(process.env.OMNIBUS_MODEL_RUNS || 60);

await withBroker('nats', async (broker) => {
  const created = new Set<string>();
  afterAll(() => deleteStreams(broker.url, created)); // the per-history streams this run created
  it(
    `contract model: ${runs} random histories on NATS`,
    async () => {
      const report = await checkContractModel({
        name: 'nats',
        sharedState: true,
        runs,
        seed: 20261205, // fixed in CI: the same histories every run (OMNIBUS_MODEL_SEED overrides)
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
        log: (line) => console.log(line),
      });
      expect(report.passed).toBe(true);
    },
    Math.max(1_800_000, runs * 20_000),
  );
});
