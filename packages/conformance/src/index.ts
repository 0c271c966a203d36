export type { ConformanceContext, ConformanceTest } from './conformance/context.js';
export type { ConformanceOptions, ConformanceReport } from './conformance/suite.js';
export { conformanceGroups, runConformanceSuite } from './conformance/suite.js';
export type {
  Command as ModelCommand,
  History as ModelHistory,
  Outcome as ModelOutcome,
} from './model/commands.js';
export type { ModelReport, ModelTestOptions } from './model/model-test.js';
export { ContractModelError, checkContractHistory, checkContractModel } from './model/model-test.js';
export { judge as judgeModelHistory } from './model/oracle.js';
export type { ModelRegression } from './model/regressions.js';
export { MODEL_REGRESSIONS } from './model/regressions.js';
export type { HistoryTiming, ModelBackend, Observations as ModelObservations } from './model/run-history.js';
export type { Reader, StoredIdsTiming } from './reader.js';
export { deferred, reader, storedIds, uniquePrefix, waitFor } from './reader.js';
export { defaultReportDir, reportStamp } from './report.js';
export type { RestartScenarioOptions } from './restart.js';
export { runRestartScenarios } from './restart.js';
export type { Assertion, ErrorClass, Expect, TestFn, TestRunner } from './runner.js';
