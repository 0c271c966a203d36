export type { BenchRow } from './bench.js';
export { latencyRows, percentile, reportBenchmark } from './bench.js';
export type { AvailableBroker, Broker, BrokerKind, MissingBroker, ResolveBrokerOptions } from './brokers.js';
export { brokerEnvVar, getBroker, resolveBroker, uniqueName, withBroker } from './brokers.js';
export type { ConformanceContext, ConformanceTest } from './conformance/context.js';
export type { ConformanceOptions, ConformanceReport } from './conformance/suite.js';
export { conformanceGroups, runConformanceSuite } from './conformance/suite.js';
export type { Reader } from './reader.js';
export { deferred, reader, uniquePrefix, waitFor } from './reader.js';
