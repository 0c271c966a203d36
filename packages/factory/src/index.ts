export { createEventBus, createEventBusFromEnv } from './create-event-bus.js';
export type { EventBusConfig } from './create-event-bus.js';
export { adapters, isBackendName } from './adapters.js';
export type { AdapterEntry, BackendName } from './adapters.js';
export { parseOmnibusUrl } from './parse-url.js';
export type { ParsedUrl } from './parse-url.js';
export { loadAdapter } from './load-adapter.js';
export type { AdapterFactory } from './load-adapter.js';
