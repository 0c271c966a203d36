export type {
  AdapterConfig,
  BackendName,
  BuiltInBackend,
  CommonConfig,
  ConfigFor,
  EventBusConfig,
  FactoryOptions,
  OptionsFor,
  TypedBackend,
  UntypedOptions,
} from './config.js';
export { createEventBus } from './create-event-bus.js';
export type { BlockFor, EventBusFromEnvCommon, EventBusFromEnvOptions } from './from-env.js';
export { createEventBusFromEnv } from './from-env.js';
export { installCommand } from './load-adapter.js';
export type { ParsedUrl } from './parse-url.js';
export { parseOmnibusUrl } from './parse-url.js';
export type { AdapterFactory, AdapterRegistration, RegisteredAdapter, UrlReading } from './registry.js';
export { registerAdapter, registeredAdapters } from './registry.js';
