// Run by test/node-runner.test.ts with `node --test`: the conformance kit and the restart/pause
// scenarios of @omnibus/conformance under node:test — a runner other than vitest — on the memory bus.
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { runConformanceSuite, runRestartScenarios, type TestRunner } from '@omnibus/conformance';
import { silentLogger } from '@omnibus/core';
import { createMemoryBus } from '../../src/index.js';
import { expect } from './expect.js';

const runner: TestRunner = {
  describe: (name, fn) => void describe(name, fn),
  it: (name, fn, timeoutMs) =>
    void it(name, { timeout: timeoutMs }, async () => {
      await fn();
    }),
  beforeEach: (fn) => beforeEach(async () => void (await fn())),
  afterEach: (fn) => afterEach(async () => void (await fn())),
  afterAll: (fn) => after(async () => void (await fn())),
  expect,
};

const createBus = () => createMemoryBus({ history: true, logger: silentLogger });

await runConformanceSuite(runner, { name: 'memory', createBus });

// the memory bus has no broker: the commands do nothing, the scenarios run their load and checks
runRestartScenarios(runner, {
  name: 'memory',
  createBus,
  restart: async () => undefined,
  pause: () => undefined,
  resume: () => undefined,
  pauseMs: 200,
  messages: 20,
  timeoutMs: 10_000,
});
