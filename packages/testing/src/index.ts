// The vitest binding of @omnibus/conformance, and the kit's helpers re-exported so that one import serves a test file
export type {
  Assertion,
  ConformanceContext,
  ConformanceOptions,
  ConformanceReport,
  ConformanceTest,
  Expect,
  HistoryTiming,
  ModelBackend,
  ModelCommand,
  ModelHistory,
  ModelObservations,
  ModelOutcome,
  ModelRegression,
  ModelReport,
  ModelTestOptions,
  Reader,
  RestartScenarioOptions,
  StoredIdsTiming,
  TestRunner,
} from '@omnibus/conformance';
export {
  ContractModelError,
  checkContractHistory,
  conformanceGroups,
  defaultReportDir,
  deferred,
  judgeModelHistory,
  MODEL_REGRESSIONS,
  reader,
  reportStamp,
  storedIds,
  uniquePrefix,
  waitFor,
} from '@omnibus/conformance';
export { checkContractModel, runConformanceSuite, runRestartScenarios, vitestRunner } from './binding.js';
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
export { chromiumPath } from './chromium.js';
export type { LocalBroker, LocalKafka } from './local-brokers.js';
export {
  type LocalRabbitMq,
  startLocalKafka,
  startLocalNats,
  startLocalRabbitMq,
  startLocalRedis,
} from './local-brokers.js';
export type {
  LocalCluster,
  LocalKafkaCluster,
  LocalNatsCluster,
  LocalRabbitMqCluster,
  LocalRedisCluster,
} from './local-clusters.js';
export {
  processRss,
  startLocalKafkaCluster,
  startLocalNatsCluster,
  startLocalRabbitMqCluster,
  startLocalRedisCluster,
} from './local-clusters.js';
export type { LocalPostgres } from './local-postgres.js';
export { startLocalPostgres } from './local-postgres.js';
export type { LocalServer, LocalServerOptions } from './local-server.js';
export { sparePort, startLocalServer } from './local-server.js';
export { readmeSchemeRow, readmeSnippet, readmeUrlParameters } from './readme-snippet.js';
export type { TestCertificates } from './test-certificates.js';
export { createTestCertificates } from './test-certificates.js';
