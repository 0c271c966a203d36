import { ConfigError, isOmnibusError, safeCause } from '@omnibus/core';
import { type AdapterRegistration, adapterOfUrl, registeredAdapters, type UrlReading } from './registry.js';

/** What an `OMNIBUS_URL` says: the backend and the adapter options it implies. */
export interface ParsedUrl {
  /** The registered backend whose scheme the URL has: `memory`, `nats`, `redis`, `kafka`, or a third party's. */
  backend: string;
  options: Record<string, unknown>;
}

/** What the factory read from a URL: also, for parameters read with `readUrlParameters`, which option each set. */
export interface ReadUrl extends ParsedUrl {
  fromUrl?: UrlReading['fromUrl'];
}

/**
 * Parses `OMNIBUS_URL` with the reader of the adapter registered for its scheme:
 * `memory://`, `nats://…`, `tls://…`, `redis://…`, `rediss://…`,
 * `kafka://h1:9092,h2:9092`, or a third party's (`registerAdapter`). `memory://`
 * query parameters become options here (`memory://?history=1000&maxBuffered=5000`);
 * the broker adapters (NATS, Redis, Kafka, RabbitMQ) get the URL whole and read their
 * own parameters when the bus is created (see the factory README for the full list).
 * An unknown parameter is a `ConfigError` naming it (`OMNIBUS_URL.strem`, with a "did
 * you mean"), as is a value that does not read (`OMNIBUS_URL.maxAgeMs: must be an
 * integer`) or is out of range.
 * Errors never echo credentials: every `OmnibusError` message passes through
 * `redact()`.
 */
export function parseOmnibusUrl(url: string): ParsedUrl {
  const { backend, options } = readOmnibusUrl(url);
  return { backend, options };
}

/** The default reading: the URL must parse; the adapter reads it, query included, itself. */
function defaultReading(url: string, backend: string): UrlReading {
  try {
    new URL(url);
  } catch {
    // the parser's own error would repeat the URL, credentials included: leave it out
    throw new ConfigError('OMNIBUS_URL', `cannot parse ${url}`, { backend });
  }
  return { options: { url } };
}

function read(registration: AdapterRegistration, url: string): UrlReading {
  if (registration.parseUrl === undefined) return defaultReading(url, registration.name);
  let reading: UrlReading;
  try {
    reading = registration.parseUrl(url);
  } catch (error) {
    // a ConfigError (also of another copy of @omnibus/core) says what is wrong already
    if (isOmnibusError(error) || (error as { code?: unknown } | null)?.code === 'CONFIG') throw error;
    throw new ConfigError('OMNIBUS_URL', `the ${registration.name} adapter cannot read it`, {
      backend: registration.name,
      cause: safeCause(error),
    });
  }
  if (reading === null || typeof reading !== 'object' || typeof reading.options !== 'object')
    throw new ConfigError('OMNIBUS_URL', `parseUrl of the ${registration.name} adapter gave no { options }`, {
      backend: registration.name,
    });
  return reading;
}

/** `parseOmnibusUrl`, also saying which option each parameter the factory read set. */
export function readOmnibusUrl(url: string): ReadUrl {
  const trimmed = url.trim();
  const registration = adapterOfUrl(trimmed);
  if (registration !== undefined) {
    const { options, fromUrl } = read(registration, trimmed);
    return { backend: registration.name, options, fromUrl };
  }
  const known = registeredAdapters()
    .flatMap((a) => a.schemes)
    .map((s) => `${s}://`)
    .join(', ');
  // `bob:hunter2@host:4222` has "bob:" where the scheme belongs; redact() keeps the password out
  throw new ConfigError(
    'OMNIBUS_URL',
    `unknown scheme in ${trimmed || '(empty)'}; expected one of ${known}`,
    {
      hint: 'OMNIBUS_URL starts with the scheme of a backend, e.g. nats://127.0.0.1:4222 or memory://; credentials go after it. A third-party adapter is selectable once registered: registerAdapter({ name, schemes, load })',
    },
  );
}
