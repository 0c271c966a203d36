export { runConformanceSuite, conformanceGroups } from './conformance/suite.js';
export type { ConformanceOptions, ConformanceReport } from './conformance/suite.js';
export type { ConformanceContext, ConformanceTest } from './conformance/context.js';
export { reader, waitFor, deferred, uniquePrefix } from './reader.js';
export type { Reader } from './reader.js';
