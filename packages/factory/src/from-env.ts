import {
  type BusStatus,
  type CapabilityName,
  ConfigError,
  type EventBus,
  type Logger,
  mergeUrlOptions,
  rejectUnknownOptions,
  renameConfigField,
  type UrlOptions,
  urlParameterOf,
} from '@omnibus/core';
import type { BackendName, EventBusConfig, OptionsFor, TypedBackend, UntypedOptions } from './config.js';
import { createEventBus } from './create-event-bus.js';
import { readOmnibusUrl } from './parse-url.js';
import { type AdapterRegistration, adapterOfUrl, RESERVED_NAMES, registeredAdapters } from './registry.js';

/** Options set once for every backend rather than per backend. */
type Shared = 'logger' | 'onStatus';

/** What `createEventBusFromEnv` takes besides the backend blocks. */
export interface EventBusFromEnvCommon {
  /** Where `OMNIBUS_URL` and `OMNIBUS_REQUIRE` are read (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where the bus reports dead-letters, connection loss and recovery (default `console`; `silentLogger` for none). */
  logger?: Logger;
  /** Connection and consumer status changes of a broker backend (the in-memory bus has none: never called). */
  onStatus?: (status: BusStatus) => void;
  /** Capabilities the code depends on, in addition to those `OMNIBUS_REQUIRE` lists. */
  require?: Partial<Record<CapabilityName, boolean>>;
}

/**
 * A backend's block in `createEventBusFromEnv`: its adapter's options but the
 * server (no `url`, no Kafka `brokers`: they come from `OMNIBUS_URL`) and but
 * `logger`/`onStatus` (set once for every backend).
 */
export type BlockFor<B extends BackendName> = B extends TypedBackend
  ? Omit<OptionsFor<B>, Shared | 'url' | 'brokers'>
  : UntypedOptions;

/**
 * What code adds to the environment in `createEventBusFromEnv`: the logger, the
 * status hook, required capabilities, and per backend (`memory`, `nats`, `redis`,
 * `kafka`, a registered third party's) the adapter options a URL cannot carry (an
 * existing connection, functions, objects) or that the code wants fixed. Only the
 * block of the backend `OMNIBUS_URL` selects is used, so one service can carry
 * settings for each backend it may run on. A block is typed by its adapter's
 * options once the adapter's types are in the program (see `TypedBackend`).
 *
 * Each option comes from one place: an option set both by an `OMNIBUS_URL`
 * parameter and by code is a `ConfigError` naming the parameter
 * (`OMNIBUS_URL.maxAgeMs`) — neither silently wins. The server always comes from
 * `OMNIBUS_URL`, so the blocks have no `url` (nor Kafka `brokers`). A connection
 * passed in code (`nats.connection`, `redis.client`, `kafka.kafka`) replaces the
 * server: `OMNIBUS_URL` must then name the scheme alone (`redis://`), since a
 * server or parameters there would be ignored.
 */
export type EventBusFromEnvOptions = EventBusFromEnvCommon & { [B in BackendName]?: BlockFor<B> };

/** The option names `createEventBusFromEnv` takes now: its own and one per registered backend. */
function optionNames(): Record<string, true> {
  const names: Record<string, true> = {};
  for (const name of [...RESERVED_NAMES, ...registeredAdapters().map((a) => a.name)]) names[name] = true;
  return names;
}

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
    entries.some(([key]) => !Object.hasOwn(optionNames(), key))
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

function backendBlock(backend: string, block: unknown): Record<string, unknown> {
  if (block === undefined) return {};
  if (block === null || typeof block !== 'object' || Array.isArray(block))
    throw new ConfigError(backend, `must be an object of ${backend} adapter options`);
  for (const name of Object.keys(block)) {
    const reason = NOT_IN_BLOCK[name];
    if (reason !== undefined) throw new ConfigError(`${backend}.${name}`, `not an option here: ${reason}`);
  }
  return block as Record<string, unknown>;
}

/** Refuses an option that both the URL's reading (one without `fromUrl`) and the block set: each comes from one place. */
function refuseClash(
  backend: string,
  fromUrl: Record<string, unknown>,
  block: Record<string, unknown>,
): void {
  const both = Object.keys(fromUrl).find((name) => block[name] !== undefined);
  if (both !== undefined)
    throw new ConfigError(
      'OMNIBUS_URL',
      `sets ${both}, also set as ${backend}.${both}; set it in one place`,
      {
        backend,
        hint: `remove it from OMNIBUS_URL or ${both} from the ${backend} options`,
      },
    );
}

/** With a connection from code, `OMNIBUS_URL` names the scheme alone: the adapter's options are the block's. */
function connectionFromCode(
  url: string,
  registration: AdapterRegistration | undefined,
  options: EventBusFromEnvOptions,
): Record<string, unknown> | undefined {
  const connection = registration?.connectionOption;
  if (registration === undefined || connection === undefined) return undefined;
  const { name } = registration;
  const block = backendBlock(name, (options as Record<string, unknown>)[name]);
  if (block[connection] === undefined) return undefined;
  if (!/^[a-z][a-z0-9+.-]*:\/\/$/i.test(url)) {
    const scheme = url.slice(0, url.indexOf(':') + 3);
    throw new ConfigError(
      'OMNIBUS_URL',
      `names a server or parameters, and the code passes ${name}.${connection}, which replaces them`,
      {
        backend: name,
        hint: `set OMNIBUS_URL=${scheme} to use the ${connection} from the code, or leave ${name}.${connection} out`,
      },
    );
  }
  return block;
}

/** What the adapter gets from `OMNIBUS_URL` and the selected backend's block, merged. */
function fromUrlAndCode(
  url: string,
  options: EventBusFromEnvOptions,
): {
  registration: AdapterRegistration | undefined;
  backend: string;
  block: Record<string, unknown>;
  adapterOptions: Record<string, unknown>;
  fromUrl: UrlOptions | undefined;
} {
  // a connection from code needs the scheme alone (`kafka://` names no broker): look at the block first
  const registration = adapterOfUrl(url);
  const withConnection = connectionFromCode(url, registration, options);
  if (registration !== undefined && withConnection !== undefined) {
    const backend = registration.name;
    return {
      registration,
      backend,
      block: withConnection,
      adapterOptions: { ...withConnection },
      fromUrl: undefined,
    };
  }
  const read = readOmnibusUrl(url);
  const block = backendBlock(read.backend, (options as Record<string, unknown>)[read.backend]);
  if (read.fromUrl === undefined) {
    // the broker adapters read their parameters from the URL themselves, and refuse one the code also sets
    refuseClash(read.backend, read.options, block);
    return {
      registration,
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
  // what the reading set besides its parameters (NATS: the server list), from the URL alone too
  const byParameter = new Set([...read.fromUrl.sources.keys()].map((path) => path.split('.')[0]));
  const besides = Object.fromEntries(Object.entries(read.options).filter(([name]) => !byParameter.has(name)));
  refuseClash(read.backend, besides, block);
  Object.assign(adapterOptions, besides);
  return { registration, backend: read.backend, block, adapterOptions, fromUrl: read.fromUrl };
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
  rejectUnknownOptions(options, optionNames(), {
    hint: 'the options are env, logger, onStatus, require and a block per registered backend',
  });
  const env = options.env ?? process.env;
  // set but empty is a mistake more often than a choice (`OMNIBUS_URL=${UNSET}` in a compose file):
  // running on the in-memory bus then would lose every event between services without a word
  if (env.OMNIBUS_URL !== undefined && env.OMNIBUS_URL.trim() === '')
    throw new ConfigError('OMNIBUS_URL', 'is set but empty', {
      hint: 'unset it (or set memory://) for the in-memory bus, or name the broker, e.g. nats://127.0.0.1:4222',
    });
  const url = env.OMNIBUS_URL?.trim() || 'memory://';
  const { registration, backend, block, adapterOptions, fromUrl } = fromUrlAndCode(url, options);
  if (options.logger !== undefined) adapterOptions.logger = options.logger;
  if (options.onStatus !== undefined && registration?.reportsStatus !== false)
    adapterOptions.onStatus = options.onStatus;
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
