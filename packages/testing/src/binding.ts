import {
  type ConformanceOptions,
  type ConformanceReport,
  checkContractModel as checkContractModelWith,
  defaultReportDir,
  type ModelReport,
  type ModelTestOptions,
  type RestartScenarioOptions,
  runConformanceSuite as runConformanceSuiteWith,
  runRestartScenarios as runRestartScenariosWith,
  type TestRunner,
} from '@omnibus/conformance';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';

/** vitest's functions as the `TestRunner` of `@omnibus/conformance`. */
export const vitestRunner: TestRunner = { describe, it, beforeEach, afterEach, afterAll, expect };

/** `reportDir` as given, else the workspace's `reports/` (`defaultReportDir()`). */
const withReportDir = <T extends { reportDir?: string | false }>(options: T): T => ({
  ...options,
  reportDir: options.reportDir === undefined ? defaultReportDir() : options.reportDir,
});

/**
 * Registers the whole Omnibus conformance suite (vitest) for one adapter: `runConformanceSuite`
 * of `@omnibus/conformance` with vitest's runner, writing `conformance-<name>.json` to the
 * workspace's `reports/` (or `OMNIBUS_REPORT_DIR`) unless `reportDir` says otherwise (`false`:
 * none). Call it at the top level of a test file with `await`.
 *
 * @example
 * await runConformanceSuite({ name: 'memory', createBus: () => createMemoryBus({ history: true }) });
 */
export function runConformanceSuite(options: ConformanceOptions): Promise<ConformanceReport> {
  return runConformanceSuiteWith(vitestRunner, withReportDir(options));
}

/**
 * The model-based test of `@omnibus/conformance` (`checkContractModel`), whose report is merged
 * into the workspace's `reports/model.json` (or `OMNIBUS_REPORT_DIR`) unless `reportDir` says
 * otherwise (`false`: none).
 */
export function checkContractModel(options: ModelTestOptions): Promise<ModelReport> {
  return checkContractModelWith(withReportDir(options));
}

/**
 * The broker restart and pause scenarios of `@omnibus/conformance` (`runRestartScenarios`),
 * registered with vitest.
 *
 * @example
 * const redis = await startLocalRedis({ aof: true });
 * afterAll(() => redis.dispose());
 * runRestartScenarios({
 *   name: 'redis',
 *   createBus: () => createRedisBus({ url: redis.url }),
 *   restart: async () => { await redis.kill(); await redis.restart(); },
 *   pause: () => redis.pause(true),
 *   resume: () => redis.pause(false),
 * });
 */
export function runRestartScenarios(options: RestartScenarioOptions): void {
  runRestartScenariosWith(vitestRunner, options);
}
