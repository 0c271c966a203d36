import { type CapabilityName, ConfigError, type EventBus } from '@omnibus/core';
import type { AdapterConfig, CommonConfig, EventBusConfig } from './config.js';
import { loadAdapter } from './load-adapter.js';
import { type AdapterFactory, adapterNamed, registeredAdapters } from './registry.js';

const CAPABILITIES: readonly CapabilityName[] = ['durable', 'replay', 'groups', 'dedupe', 'delayedNak'];

function checkRequirements(bus: EventBus, required: CommonConfig['require']): ConfigError | undefined {
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

async function factoryOf(backend: unknown, adapter: unknown): Promise<AdapterFactory> {
  if (adapter !== undefined) {
    if (backend !== undefined)
      throw new ConfigError('adapter', 'set either backend or adapter, not both', {
        hint: 'backend names a registered adapter; adapter is the factory function itself',
      });
    if (typeof adapter !== 'function')
      throw new ConfigError('adapter', "must be an adapter's factory function, e.g. createMemoryBus");
    return adapter as AdapterFactory;
  }
  const registration = adapterNamed(backend);
  if (registration === undefined) {
    throw new ConfigError(
      'backend',
      `unknown backend ${JSON.stringify(backend)}; one of ${registeredAdapters()
        .map((a) => a.name)
        .join(', ')}`,
      {
        hint: 'a third-party adapter is selectable once registered: registerAdapter({ name, schemes, load }) — or pass its factory: createEventBus({ adapter: createMyBus, ... })',
      },
    );
  }
  return loadAdapter(registration);
}

/**
 * Creates the bus the configuration asks for: loads the adapter registered as
 * `backend` (a dynamic `import()`, see `registerAdapter`) — or calls `adapter`,
 * an adapter's factory function passed in — creates and connects the bus, and
 * checks `require`. Throws `ConfigError` (naming the field) for bad
 * configuration, `AdapterNotInstalledError` (naming the package) when the adapter
 * is missing, and whatever typed error the adapter raises when it cannot connect.
 */
export async function createEventBus(config: EventBusConfig): Promise<EventBus>;
/** An adapter passed as its factory function: `createEventBus({ adapter: createLoopbackBus, size: 10 })`. */
export async function createEventBus<F extends AdapterFactory>(config: AdapterConfig<F>): Promise<EventBus>;
export async function createEventBus(config: object): Promise<EventBus> {
  if (!config || typeof config !== 'object')
    throw new ConfigError('config', 'must be an object with a backend (or an adapter)');
  const {
    backend,
    adapter,
    require: required,
    ...options
  } = config as CommonConfig & { backend?: unknown; adapter?: unknown; [option: string]: unknown };
  const factory = await factoryOf(backend, adapter);
  const bus = await (factory as (options: Record<string, unknown>) => EventBus | Promise<EventBus>)(options);
  const problem = checkRequirements(bus, required);
  if (problem) {
    await bus.close({ timeoutMs: 0 });
    throw problem;
  }
  return bus;
}
