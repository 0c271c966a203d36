import { type CapabilityName, ConfigError, type EventBus } from '@omnibus/core';
import type { KafkaBusOptions } from '@omnibus/kafka';
import type { MemoryBusOptions } from '@omnibus/memory';
import type { NatsBusOptions } from '@omnibus/nats';
import type { RedisBusOptions } from '@omnibus/redis';
import { adapters, type BackendName, isBackendName } from './adapters.js';
import { loadAdapter } from './load-adapter.js';

const CAPABILITIES: readonly CapabilityName[] = ['durable', 'replay', 'groups', 'dedupe', 'delayedNak'];

/** What every backend's configuration has besides the adapter's own options. */
export interface CommonConfig {
  /**
   * Capabilities the application depends on. Start-up fails with `ConfigError`
   * (field `require.<name>`) when the backend lacks one, instead of behaving
   * differently later.
   */
  require?: Partial<Record<CapabilityName, boolean>>;
}

/** `createEventBus` configuration of the in-memory bus: `backend: 'memory'` plus `createMemoryBus` options. */
export interface MemoryConfig extends CommonConfig, MemoryBusOptions {
  backend: 'memory';
}

/** `createEventBus` configuration of NATS JetStream: `backend: 'nats'` plus `createNatsBus` options. */
export interface NatsConfig extends CommonConfig, NatsBusOptions {
  backend: 'nats';
}

/** `createEventBus` configuration of Redis Streams: `backend: 'redis'` plus `createRedisBus` options. */
export interface RedisConfig extends CommonConfig, RedisBusOptions {
  backend: 'redis';
}

/** `createEventBus` configuration of Kafka: `backend: 'kafka'` plus `createKafkaBus` options. */
export interface KafkaConfig extends CommonConfig, KafkaBusOptions {
  backend: 'kafka';
}

/**
 * Configuration for `createEventBus`: a union discriminated by `backend`. Every
 * field except `backend` and `require` is passed to the adapter's factory as its
 * options (see each adapter's README), so a misspelt option is a compile error
 * in TypeScript and a `ConfigError` naming it at run time.
 */
export type EventBusConfig = MemoryConfig | NatsConfig | RedisConfig | KafkaConfig;

/** The configuration of one backend, e.g. `ConfigFor<'nats'>`. */
export type ConfigFor<B extends BackendName> = Extract<EventBusConfig, { backend: B }>;

function checkRequirements(bus: EventBus, required: EventBusConfig['require']): ConfigError | undefined {
  if (required === undefined) return undefined;
  if (typeof required !== 'object' || required === null)
    return new ConfigError('require', 'must be an object of capability flags');
  for (const [name, wanted] of Object.entries(required)) {
    if (!(CAPABILITIES as readonly string[]).includes(name)) {
      return new ConfigError(`require.${name}`, `unknown capability; known: ${CAPABILITIES.join(', ')}`);
    }
    if (wanted === true && bus.capabilities[name as CapabilityName] !== true) {
      return new ConfigError(`require.${name}`, `the ${bus.backend} backend does not support ${name}`, {
        backend: bus.backend,
      });
    }
  }
  return undefined;
}

/**
 * Creates the bus the configuration asks for: loads the adapter package with a
 * dynamic `import()`, creates and connects the bus, and checks `require`.
 * Throws `ConfigError` (naming the field) for bad configuration,
 * `AdapterNotInstalledError` (naming the package) when the adapter is missing,
 * and whatever typed error the adapter raises when it cannot connect.
 */
export async function createEventBus(config: EventBusConfig): Promise<EventBus> {
  if (!config || typeof config !== 'object')
    throw new ConfigError('config', 'must be an object with a backend');
  const {
    backend,
    require: required,
    ...options
  } = config as CommonConfig & {
    backend: unknown;
    [option: string]: unknown;
  };
  if (!isBackendName(backend)) {
    throw new ConfigError(
      'backend',
      `unknown backend ${JSON.stringify(backend)}; one of ${Object.keys(adapters).join(', ')}`,
    );
  }
  const factory = await loadAdapter(backend, adapters[backend]);
  const bus = await factory(options);
  const problem = checkRequirements(bus, required);
  if (problem) {
    await bus.close({ timeoutMs: 0 });
    throw problem;
  }
  return bus;
}
