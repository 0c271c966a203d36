import {
  ConfigError,
  createBus,
  DEFAULT_MAX_PAYLOAD_BYTES,
  type EventBus,
  type Logger,
  type OptionNames,
  readUrlParameters,
  rejectUnknownOptions,
  type UrlOptions,
  type UrlParameters,
} from '@omnibus/core';
// a type-only import: the package does not depend on @omnibus/factory at run time, nor in its published types
import type { AdapterRegistration } from '@omnibus/factory';
import { LoopbackDriver } from './loopback-driver.js';

/** Options of `createLoopbackBus`. */
export interface LoopbackBusOptions {
  /** Largest payload accepted, in bytes (default 1 MiB). */
  maxPayloadBytes?: number;
  /** Where the bus reports dead-letters (default `console`). */
  logger?: Logger;
}

// Typed configuration through the factory: with this package's types in the program,
// createEventBus({ backend: 'loopback', … }) and createEventBusFromEnv({ loopback: { … } }) take these options.
declare module '@omnibus/core' {
  interface BackendOptionsRegistry {
    /** `createLoopbackBus` options. */
    loopback: LoopbackBusOptions;
  }
}

const OPTION_NAMES: OptionNames<LoopbackBusOptions> = { maxPayloadBytes: true, logger: true };

/**
 * Creates an in-process loopback bus: what is published goes to every live
 * subscription whose pattern matches. Core's `createBus` adds validation,
 * receipts, `consume` with retries and dead-letter, `maxInFlight`, stats and close.
 */
export function createLoopbackBus(options: LoopbackBusOptions = {}): EventBus {
  rejectUnknownOptions(options, OPTION_NAMES, { backend: 'loopback' });
  const { maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES, logger } = options;
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1)
    throw new ConfigError('maxPayloadBytes', 'must be a positive integer', { backend: 'loopback' });
  return createBus(new LoopbackDriver(maxPayloadBytes), { logger });
}

/** The query parameters of `loopback://`: every option that is not a function. */
const URL_PARAMETERS: UrlParameters = { maxPayloadBytes: { type: 'integer' } };

/** `loopback://?maxPayloadBytes=2048` → `{ maxPayloadBytes: 2048 }`, saying which parameter set what. */
function parseLoopbackUrl(url: string): { options: Record<string, unknown>; fromUrl: UrlOptions } {
  const query = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
  const fromUrl = readUrlParameters(query, URL_PARAMETERS, {
    field: 'OMNIBUS_URL',
    scheme: 'loopback://',
    backend: 'loopback',
  });
  return { options: { ...fromUrl.options }, fromUrl };
}

/**
 * The registration for `@omnibus/factory`: `registerAdapter(loopbackAdapter)` makes
 * `OMNIBUS_URL=loopback://` and `createEventBus({ backend: 'loopback' })` select this
 * adapter. (An adapter with a heavy client library keeps its registration in a
 * module of its own and writes `load: async () => (await import('its-package')).createItsBus`,
 * so the library loads only when selected.)
 */
export const loopbackAdapter = {
  name: 'loopback',
  schemes: ['loopback'],
  packageName: 'omnibus-adapter-loopback',
  load: async () => createLoopbackBus,
  parseUrl: parseLoopbackUrl,
  reportsStatus: false, // no connection: it takes no onStatus
} satisfies AdapterRegistration;
