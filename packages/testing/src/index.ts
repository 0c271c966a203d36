export type { ConformanceContext, ConformanceTest } from './conformance/context.js';
export type { ConformanceOptions, ConformanceReport } from './conformance/suite.js';
export { conformanceGroups, runConformanceSuite } from './conformance/suite.js';
export type { Reader } from './reader.js';
export { deferred, reader, uniquePrefix, waitFor } from './reader.js';
