import { type CapabilityName, ConfigError, type EventBus } from '@omnibus/core';
import { adapters, type BackendName, isBackendName } from './adapters.js';
import { loadAdapter } from './load-adapter.js';
import { parseOmnibusUrl } from './parse-url.js';

const CAPABILITIES: readonly CapabilityName[] = ['durable', 'replay', 'groups', 'dedupe', 'delayedNak'];

/**
 * Configuration for `createEventBus`. `backend` picks the adapter; every other
 * field except `require` is passed to the adapter's factory as its options
 * (see each adapter's README).
 */
export interface EventBusConfig {
  backend: BackendName;
  /**
   * Capabilities the application depends on. Start-up fails with `ConfigError`
   * (field `require.<name>`) when the backend lacks one, instead of behaving
   * differently later.
   */
  require?: Partial<Record<CapabilityName, boolean>>;
  /** Adapter options, e.g. `url` for NATS and Redis, `brokers` for Kafka, `history` for memory. */
  [option: string]: unknown;
}

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
  const { backend, require: required, ...options } = config;
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

/**
 * Creates the bus from the environment: `OMNIBUS_URL` (`memory://`, `nats://…`,
 * `redis://…`, `kafka://h1:9092,h2:9092`; unset → in-memory) and optionally
 * `OMNIBUS_REQUIRE` (comma-separated capabilities, e.g. `durable,replay`).
 */
export async function createEventBusFromEnv(
  env: Record<string, string | undefined> = process.env,
): Promise<EventBus> {
  const url = env.OMNIBUS_URL?.trim();
  const parsed = url ? parseOmnibusUrl(url) : { backend: 'memory' as const, options: {} };
  const required: Partial<Record<CapabilityName, boolean>> = {};
  for (const name of (env.OMNIBUS_REQUIRE ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    required[name as CapabilityName] = true;
  }
  return createEventBus({ backend: parsed.backend, ...parsed.options, require: required });
}
