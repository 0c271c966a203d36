export type { AdapterEntry, BackendName } from './adapters.js';
export { adapters, isBackendName } from './adapters.js';
export type {
  CommonConfig,
  ConfigFor,
  EventBusConfig,
  KafkaConfig,
  MemoryConfig,
  NatsConfig,
  RedisConfig,
} from './create-event-bus.js';
export { createEventBus } from './create-event-bus.js';
export type { EventBusFromEnvOptions } from './from-env.js';
export { createEventBusFromEnv } from './from-env.js';
export type { AdapterFactory } from './load-adapter.js';
export { installCommand, loadAdapter } from './load-adapter.js';
export type { ParsedUrl } from './parse-url.js';
export { parseOmnibusUrl } from './parse-url.js';
