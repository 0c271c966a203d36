export type { HealthAnswer, HealthRequest, HealthResponse, HealthSource } from './health.js';
export { healthHandler, liveness, readiness } from './health.js';
export type { OmnibusInstrumentation, OmnibusInstrumentationOptions } from './instrumentation.js';
export { INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION, instrumentOmnibus } from './instrumentation.js';
export type { LagObserver, LagOptions } from './lag.js';
export { observeLag } from './lag.js';
export { ATTR, METRIC } from './semconv.js';
export { traceHeaders } from './trace-headers.js';
