import { silentLogger } from '@omnibus/core';
import { checkContractHistory, checkContractModel, MODEL_REGRESSIONS, withBroker } from '@omnibus/testing';
import { afterAll, expect, it } from 'vitest';
import { createKafkaBus } from '../src/index.js';
import { deleteTopics } from './kafka-admin.js';

// A fixed budget of random histories in CI (Kafka's group joins make each history take seconds);
// `pnpm test:model --runs N` soaks longer (OMNIBUS_MODEL_RUNS).
const runs = Number(process.env.OMNIBUS_MODEL_RUNS || 25);

await withBroker('kafka', async (broker) => {
  const topicPrefix = `omnibus-model-${Date.now().toString(36)}.`;
  afterAll(() => deleteTopics([...broker.brokers], topicPrefix));
  const createBus = () =>
    createKafkaBus({
      brokers: [...broker.brokers],
      topicPrefix,
      groupPrefix: topicPrefix,
      logger: silentLogger,
    });
  // each history's topics and groups go when it ends: a soak of thousands of histories would
  // otherwise leave thousands of topics, and every client's metadata requests grow with them
  const afterHistory = (prefix: string) => deleteTopics([...broker.brokers], `${topicPrefix}${prefix}`);
  it(
    `contract model: ${runs} random histories on Kafka`,
    async () => {
      const report = await checkContractModel({
        name: 'kafka',
        sharedState: true,
        afterHistory,
        runs,
        seed: 20261205, // fixed in CI: the same histories every run (OMNIBUS_MODEL_SEED overrides)
        maxCommands: 8,
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
      await checkContractHistory({ name: 'kafka', sharedState: true, createBus, afterHistory }, commands);
    },
    60_000,
  );
});
