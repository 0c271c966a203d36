import { checkContractHistory, checkContractModel, MODEL_REGRESSIONS, withBroker } from '@omnibus/testing';
import { afterAll, expect, it } from 'vitest';
import { deleteStreams, testBus } from './nats-server.js';

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
        createBus: () => testBus(broker.url, created),
        log: (line) => console.log(line),
      });
      expect(report.passed).toBe(true);
    },
    Math.max(1_800_000, runs * 20_000),
  );
  it.each(MODEL_REGRESSIONS.map((r) => [r.found, r.commands] as const))(
    'replays a history that once failed: %s',
    async (_found, commands) => {
      await checkContractHistory(
        { name: 'nats', sharedState: true, createBus: () => testBus(broker.url, created) },
        commands,
      );
    },
    60_000,
  );
});
