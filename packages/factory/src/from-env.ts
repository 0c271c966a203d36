import {
  type BusStatus,
  type CapabilityName,
  ConfigError,
  type EventBus,
  type Logger,
  mergeUrlOptions,
  type OptionNames,
  rejectUnknownOptions,
  renameConfigField,
  type UrlOptions,
  urlParameterOf,
} from '@omnibus/core';
import type { KafkaBusOptions } from '@omnibus/kafka';
import type { MemoryBusOptions } from '@omnibus/memory';
import type { NatsBusOptions } from '@omnibus/nats';
import type { RedisBusOptions } from '@omnibus/redis';
import type { BackendName } from './adapters.js';
import { createEventBus, type EventBusConfig } from './create-event-bus.js';
import { backendOfScheme, readOmnibusUrl } from './parse-url.js';

/** Options set once for every backend rather than per backend. */
type Shared = 'logger' | 'onStatus';

/**
 * What code adds to the environment in `createEventBusFromEnv`: the logger, the
 * status hook, required capabilities, and per backend the adapter options a URL
 * cannot carry (an existing connection, functions, objects) or that the code
 * wants fixed. Only the block of the backend `OMNIBUS_URL` selects is used, so one
 * service can carry settings for each backend it may run on.
 *
 * Each option comes from one place: an option set both by an `OMNIBUS_URL`
 * parameter and by code is a `ConfigError` naming the parameter
 * (`OMNIBUS_URL.maxAgeMs`) — neither silently wins. The server always comes from
 * `OMNIBUS_URL`, so the blocks have no `url` (nor Kafka `brokers`). A connection
 * passed in code (`nats.connection`, `redis.client`, `kafka.kafka`) replaces the
 * server: `OMNIBUS_URL` must then name the scheme alone (`redis://`), since a
 * server or parameters there would be ignored.
 */
export interface EventBusFromEnvOptions {
  /** Where `OMNIBUS_URL` and `OMNIBUS_REQUIRE` are read (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where the bus reports dead-letters, connection loss and recovery (default `console`; `silentLogger` for none). */
  logger?: Logger;
  /** Connection and consumer status changes of a broker backend (the in-memory bus has none: never called). */
  onStatus?: (status: BusStatus) => void;
  /** Capabilities the code depends on, in addition to those `OMNIBUS_REQUIRE` lists. */
  require?: Partial<Record<CapabilityName, boolean>>;
  /** `createMemoryBus` options, used when `OMNIBUS_URL` is unset or `memory://`. */
  memory?: Omit<MemoryBusOptions, Shared>;
  /** `createNatsBus` options but the server, used when `OMNIBUS_URL` is `nats://…` or `tls://…`. */
  nats?: Omit<NatsBusOptions, Shared | 'url'>;
  /** `createRedisBus` options but the server, used when `OMNIBUS_URL` is `redis://…` or `rediss://…`. */
  redis?: Omit<RedisBusOptions, Shared | 'url'>;
  /** `createKafkaBus` options but the brokers, used when `OMNIBUS_URL` is `kafka://…` or `kafka+ssl://…`. */
  kafka?: Omit<KafkaBusOptions, Shared | 'url' | 'brokers'>;
}

const OPTION_NAMES: OptionNames<EventBusFromEnvOptions> = {
  env: true,
  logger: true,
  onStatus: true,
  require: true,
  memory: true,
  nats: true,
  redis: true,
  kafka: true,
};

/** The option by which code hands a backend an existing connection. */
const CONNECTION: Partial<Record<BackendName, string>> = {
  nats: 'connection',
  redis: 'client',
  kafka: 'kafka',
};

/** Options of a backend block that come from elsewhere: where. */
const NOT_IN_BLOCK: Record<string, string> = {
  url: 'the server comes from OMNIBUS_URL',
  brokers: 'the brokers come from OMNIBUS_URL',
  logger: 'set logger next to the backend blocks: it serves every backend',
  onStatus: 'set onStatus next to the backend blocks: it serves every backend',
};

/** An environment passed the way `createEventBusFromEnv(env)` took it before it took options. */
function isEnvironment(arg: object): boolean {
  const entries = Object.entries(arg);
  return (
    entries.length > 0 &&
    entries.every(([, value]) => value === undefined || typeof value === 'string') &&
    entries.some(([key]) => !Object.hasOwn(OPTION_NAMES, key))
  );
}

function requirements(
  env: Readonly<Record<string, string | undefined>>,
  fromCode: EventBusFromEnvOptions['require'],
): Partial<Record<CapabilityName, boolean>> {
  // anything but an object is left for createEventBus to refuse, naming `require`
  if (fromCode !== undefined && (fromCode === null || typeof fromCode !== 'object')) return fromCode;
  const required: Partial<Record<CapabilityName, boolean>> = { ...fromCode };
  for (const name of (env.OMNIBUS_REQUIRE ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    required[name as CapabilityName] = true;
  }
  return required;
}

function backendBlock(backend: BackendName, block: unknown): Record<string, unknown> {
  if (block === undefined) return {};
  if (block === null || typeof block !== 'object' || Array.isArray(block))
    throw new ConfigError(backend, `must be an object of ${backend} adapter options`);
  for (const name of Object.keys(block)) {
    const reason = NOT_IN_BLOCK[name];
    if (reason !== undefined) throw new ConfigError(`${backend}.${name}`, `not an option here: ${reason}`);
  }
  return block as Record<string, unknown>;
}

/** What the adapter gets from `OMNIBUS_URL` and the selected backend's block, merged. */
function fromUrlAndCode(
  url: string,
  options: EventBusFromEnvOptions,
): {
  backend: BackendName;
  block: Record<string, unknown>;
  adapterOptions: Record<string, unknown>;
  fromUrl: UrlOptions | undefined;
} {
  // a connection from code needs the scheme alone (`kafka://` names no broker): look at the block first
  const selected = backendOfScheme(url);
  const connection = selected === undefined ? undefined : CONNECTION[selected];
  if (selected !== undefined && connection !== undefined) {
    const block = backendBlock(selected, options[selected]);
    if (block[connection] !== undefined) {
      if (!/^[a-z][a-z0-9+.-]*:\/\/$/i.test(url)) {
        const scheme = url.slice(0, url.indexOf(':') + 3);
        throw new ConfigError(
          'OMNIBUS_URL',
          `names a server or parameters, and the code passes ${selected}.${connection}, which replaces them`,
          {
            backend: selected,
            hint: `set OMNIBUS_URL=${scheme} to use the ${connection} from the code, or leave ${selected}.${connection} out`,
          },
        );
      }
      return { backend: selected, block, adapterOptions: { ...block }, fromUrl: undefined };
    }
  }
  const read = readOmnibusUrl(url);
  const block = backendBlock(read.backend, options[read.backend]);
  if (read.fromUrl === undefined) {
    // Redis and Kafka read their parameters from the URL themselves, and refuse one the code also sets
    return {
      backend: read.backend,
      block,
      adapterOptions: { ...block, ...read.options },
      fromUrl: undefined,
    };
  }
  const adapterOptions = mergeUrlOptions(read.fromUrl, block, {
    field: 'OMNIBUS_URL',
    scheme: url.slice(0, url.indexOf(':') + 3),
    backend: read.backend,
    explicitName: read.backend,
  });
  if (read.options.url !== undefined) adapterOptions.url = read.options.url; // NATS: the server list
  return { backend: read.backend, block, adapterOptions, fromUrl: read.fromUrl };
}

/**
 * Creates the bus from the environment — `OMNIBUS_URL` (`memory://`, `nats://…`,
 * `redis://…`, `kafka://h1:9092,h2:9092`; unset → in-memory) and `OMNIBUS_REQUIRE`
 * (comma-separated capabilities, e.g. `durable,replay`) — together with what code
 * sets: `createEventBusFromEnv({ logger, onStatus, nats: { connectOptions }, redis:
 * { client } })` (see {@link EventBusFromEnvOptions} for how the two merge).
 * Configuration errors name where the culprit was written: `OMNIBUS_URL.<parameter>`
 * for the URL, `<backend>.<option>` for a block.
 */
export async function createEventBusFromEnv(options?: EventBusFromEnvOptions): Promise<EventBus>;
/** @deprecated Pass `{ env }`: `createEventBusFromEnv({ env })`. */
export async function createEventBusFromEnv(env: Record<string, string | undefined>): Promise<EventBus>;
export async function createEventBusFromEnv(
  arg: EventBusFromEnvOptions | Record<string, string | undefined> = {},
): Promise<EventBus> {
  if (arg === null || typeof arg !== 'object')
    throw new ConfigError('options', 'must be an object, e.g. { logger, nats: { … } }');
  const options: EventBusFromEnvOptions = isEnvironment(arg)
    ? { env: arg as Record<string, string | undefined> }
    : (arg as EventBusFromEnvOptions);
  rejectUnknownOptions(options, OPTION_NAMES);
  const env = options.env ?? process.env;
  const url = env.OMNIBUS_URL?.trim() || 'memory://';
  const { backend, block, adapterOptions, fromUrl } = fromUrlAndCode(url, options);
  if (options.logger !== undefined) adapterOptions.logger = options.logger;
  if (options.onStatus !== undefined && backend !== 'memory') adapterOptions.onStatus = options.onStatus;
  try {
    return await createEventBus({
      backend,
      ...adapterOptions,
      require: requirements(env, options.require),
    } as EventBusConfig);
  } catch (error) {
    throw renameConfigField(error, (field) => {
      const parameter = fromUrl && urlParameterOf(fromUrl, field);
      if (parameter !== undefined) return `OMNIBUS_URL.${parameter}`;
      if (field === 'url' || field.startsWith('url.')) return `OMNIBUS_URL${field.slice(3)}`;
      const root = /^[^.[]+/.exec(field)?.[0] ?? field;
      return Object.hasOwn(block, root) ? `${backend}.${field}` : undefined;
    });
  }
}
