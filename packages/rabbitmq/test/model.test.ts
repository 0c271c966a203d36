import { silentLogger } from '@omnibus/core';
import { checkContractHistory, checkContractModel, MODEL_REGRESSIONS, withBroker } from '@omnibus/testing';
import { afterAll, expect, it } from 'vitest';
import { createRabbitMqBus } from '../src/index.js';
import { deleteBusObjects, deleteQueues } from './rabbitmq-server.js';

// A fixed budget of random histories in CI; `pnpm test:model --runs N` soaks longer (OMNIBUS_MODEL_RUNS).
const runs = Number(process.env.OMNIBUS_MODEL_RUNS || 80);

await withBroker('rabbitmq', async (broker) => {
  const run = `omnibus-model-${process.pid}-${Date.now().toString(36)}`;
  afterAll(() => deleteBusObjects(broker.url, run));
  const createBus = () =>
    createRabbitMqBus({ url: broker.url, exchange: run, queuePrefix: `${run}.`, logger: silentLogger });
  // each history's group queues go when it ends (groups last until deleted): a soak of thousands
  // of histories would otherwise leave thousands of queues on the broker
  const afterHistory = (prefix: string) =>
    deleteQueues(broker.url, [`${run}.group.${prefix}-g0`, `${run}.group.${prefix}-g1`]);
  it(
    `contract model: ${runs} random histories on RabbitMQ`,
    async () => {
      const report = await checkContractModel({
        name: 'rabbitmq',
        sharedState: true,
        afterHistory,
        runs,
        seed: 20261205, // fixed in CI: the same histories every run (OMNIBUS_MODEL_SEED overrides)
        createBus,
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
        {
          name: 'rabbitmq',
          sharedState: true,
          createBus,
          afterHistory,
        },
        commands,
      );
    },
    60_000,
  );
});
