export type {
  BenchMachine,
  BenchMeasurement,
  BenchMetric,
  BenchPartOptions,
  BenchReport,
  BenchRound,
  BenchRow,
  BenchScenario,
  BenchSettings,
  BenchStats,
} from './bench.js';
export {
  BenchPart,
  benchCount,
  benchMachine,
  benchSettings,
  benchStats,
  benchTable,
  latencyFigures,
  latencyRows,
  measureConsumeRate,
  measureLatencies,
  percentile,
  rate,
  reportBenchmark,
  within,
} from './bench.js';
export type { BenchPageEntry, BenchPageOptions, BenchTarget } from './bench-report.js';
export { formatBenchFigure, renderBenchChart, renderBenchPage } from './bench-report.js';
export type { AvailableBroker, Broker, BrokerKind, MissingBroker, ResolveBrokerOptions } from './brokers.js';
export {
  brokerEnvVar,
  brokerImage,
  brokerImageEnvVar,
  containerPackages,
  defaultBrokerImages,
  getBroker,
  resolveBroker,
  SKIPPED_TITLE_PREFIX,
  skipLine,
  uniqueName,
  withBroker,
} from './brokers.js';
export type { FailedCreateExitsOptions, UnusableServer } from './child-exit.js';
export { testFailedCreateExits } from './child-exit.js';
export type { ConformanceContext, ConformanceTest } from './conformance/context.js';
export type { ConformanceOptions, ConformanceReport } from './conformance/suite.js';
export { conformanceGroups, reportStamp, runConformanceSuite } from './conformance/suite.js';
export type { LocalBroker, LocalKafka } from './local-brokers.js';
export { startLocalKafka, startLocalNats, startLocalRedis } from './local-brokers.js';
export type {
  LocalCluster,
  LocalKafkaCluster,
  LocalNatsCluster,
  LocalRedisCluster,
} from './local-clusters.js';
export {
  processRss,
  startLocalKafkaCluster,
  startLocalNatsCluster,
  startLocalRedisCluster,
} from './local-clusters.js';
export type { LocalServer, LocalServerOptions } from './local-server.js';
export { sparePort, startLocalServer } from './local-server.js';
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
export type { TestCertificates } from './test-certificates.js';
export { createTestCertificates } from './test-certificates.js';
