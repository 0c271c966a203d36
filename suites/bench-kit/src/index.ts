// The benchmark harness of this repository (private: not published): packages/<name>/bench/*.bench.ts
// measure with it, and scripts/bench.mjs renders docs/benchmarks.md and the charts with it.
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
  measureFastPath,
  measureLatencies,
  percentile,
  rate,
  reportBenchmark,
  within,
} from './bench.js';
export type { BenchPageEntry, BenchPageOptions, BenchTarget } from './bench-report.js';
export { formatBenchFigure, renderBenchChart, renderBenchPage } from './bench-report.js';
export type { BrokerFootprint, CardinalityOptions } from './cardinality-scenario.js';
export { cardinalityGroups, cardinalityScenarios } from './cardinality-scenario.js';
export { importPeer } from './import-peer.js';
export { instrumentedScenario, sampledInstrumentedScenario } from './instrumented-scenario.js';
export { redriveScenario } from './redrive-scenario.js';
