import { checkContractHistory, checkContractModel, MODEL_REGRESSIONS } from '@omnibus/testing';
import { expect, it } from 'vitest';
import { createMemoryBus } from '../src/index.js';

// A fixed budget of random histories in CI; `pnpm test:model --runs N` soaks longer (OMNIBUS_MODEL_RUNS).
const runs = Number(process.env.OMNIBUS_MODEL_RUNS || 300);

it(
  `contract model: ${runs} random histories on memory`,
  async () => {
    const report = await checkContractModel({
      name: 'memory',
      createBus: () => createMemoryBus({ logger: { warn() {} } }),
      sharedState: false,
      runs,
      seed: 20261205, // fixed in CI: the same histories every run (OMNIBUS_MODEL_SEED overrides)
      maxCommands: 14,
      timing: { ackTimeoutMs: 200, settleWaitMs: 5_000, quietMs: 50 },
      log: (line) => console.log(line),
    });
    expect(report.passed).toBe(true);
  },
  Math.max(600_000, runs * 3_000),
);

it.each(MODEL_REGRESSIONS.map((r) => [r.found, r.commands] as const))(
  'replays a history that once failed: %s',
  async (_found, commands) => {
    await checkContractHistory(
      { name: 'memory', sharedState: false, createBus: () => createMemoryBus({ logger: { warn() {} } }) },
      commands,
      { ackTimeoutMs: 200, settleWaitMs: 5_000, quietMs: 50 },
    );
  },
  60_000,
);
