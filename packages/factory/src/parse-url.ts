import { ConfigError, readUrlParameters, type UrlOptions } from '@omnibus/core';
import { adapters, type BackendName } from './adapters.js';
import { MEMORY_URL_PARAMETERS, NATS_URL_PARAMETERS } from './url-parameters.js';

/** What an `OMNIBUS_URL` says: the backend and the adapter options it implies. */
export interface ParsedUrl {
  backend: BackendName;
  options: Record<string, unknown>;
}

const URL_CONTEXT = { field: 'OMNIBUS_URL' } as const;

/** What the factory read from a URL: also, for the parameters it reads itself (memory, NATS), which option each set. */
export interface ReadUrl extends ParsedUrl {
  /** The parameters the factory read (memory and NATS; Redis and Kafka read their own). */
  fromUrl?: UrlOptions;
}

function queryOf(url: string): URLSearchParams {
  return new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
}

/**
 * `nats://host:4222?storage=memory&maxAgeMs=60000&stream=ORDERS:orders.>` →
 * `createNatsBus` options (see `NATS_URL_PARAMETERS`). Stream settings become
 * `streamDefaults`; each `stream=NAME:subject[,subject]` adds an explicit stream. A
 * pattern starting with a wildcard needs none: it spans the automatic streams. The
 * URL handed to the adapter has no query.
 */
function natsOptions(url: string): ReadUrl {
  const query = url.includes('?') ? url.indexOf('?') : url.length;
  const fromUrl = readUrlParameters(queryOf(url), NATS_URL_PARAMETERS, {
    ...URL_CONTEXT,
    scheme: 'nats://',
    backend: 'nats',
  });
  return { backend: 'nats', options: { url: url.slice(0, query), ...fromUrl.options }, fromUrl };
}

function memoryOptions(url: string): ReadUrl {
  const fromUrl = readUrlParameters(queryOf(url), MEMORY_URL_PARAMETERS, {
    ...URL_CONTEXT,
    scheme: 'memory://',
    backend: 'memory',
  });
  return { backend: 'memory', options: { ...fromUrl.options }, fromUrl };
}

function kafkaOptions(url: string): Record<string, unknown> {
  const rest = url.slice(url.indexOf('://') + 3);
  const hostPart = rest.split(/[/?]/, 1)[0] ?? '';
  const at = hostPart.lastIndexOf('@');
  const hosts = (at >= 0 ? hostPart.slice(at + 1) : hostPart).split(',').filter(Boolean);
  if (hosts.length === 0)
    throw new ConfigError('OMNIBUS_URL', `no broker in ${url}; expected kafka://host:9092[,host2:9092]`);
  for (const h of hosts) {
    if (!/^[A-Za-z0-9.[\]:-]+:\d+$/.test(h)) {
      throw new ConfigError('OMNIBUS_URL', `broker "${h}" must be host:port in ${url}`);
    }
  }
  // the adapter reads the rest itself: SASL credentials, TLS, and its options as query parameters
  return { url };
}

/**
 * Parses `memory://`, `nats://…`, `tls://…`, `redis://…`, `rediss://…`,
 * `kafka://h1:9092,h2:9092`. Query parameters become adapter options:
 * `memory://?history=1000&maxBuffered=5000`,
 * `nats://h:4222?stream=ORDERS:orders.>&storage=memory&maxAgeMs=60000` (see the
 * factory README for the full list); Redis and Kafka read their own from the URL
 * (`createEventBus` checks them). An unknown parameter is a `ConfigError` naming it
 * (`OMNIBUS_URL.strem`, with a "did you mean"), as is a value that does not read
 * (`OMNIBUS_URL.maxAgeMs: must be an integer`); ranges are checked by the adapter.
 * Errors never echo credentials: every `OmnibusError` message passes through
 * `redact()`.
 */
export function parseOmnibusUrl(url: string): ParsedUrl {
  const { backend, options } = readOmnibusUrl(url);
  return { backend, options };
}

/** The backend whose scheme `url` starts with, if any. */
export function backendOfScheme(url: string): BackendName | undefined {
  const trimmed = url.trim();
  const colon = trimmed.indexOf(':');
  const scheme = colon > 0 ? `${trimmed.slice(0, colon + 1).toLowerCase()}` : '';
  for (const [backend, entry] of Object.entries(adapters) as [
    BackendName,
    (typeof adapters)[BackendName],
  ][]) {
    if ((entry.schemes as readonly string[]).includes(scheme)) return backend;
  }
  return undefined;
}

/** `parseOmnibusUrl`, also saying which option each parameter the factory read set. */
export function readOmnibusUrl(url: string): ReadUrl {
  const trimmed = url.trim();
  const backend = backendOfScheme(trimmed);
  if (backend !== undefined) {
    if (backend === 'memory') return memoryOptions(trimmed);
    if (backend === 'kafka') return { backend, options: kafkaOptions(trimmed) };
    // NATS takes a comma-separated server list: each server must parse
    const base = backend === 'nats' ? (trimmed.split('?', 1)[0] ?? '') : trimmed;
    const servers =
      backend === 'nats' ? base.split(',').map((s) => (s.includes('://') ? s : `nats://${s}`)) : [base];
    for (const server of servers) {
      try {
        new URL(server);
      } catch {
        // the parser's own error would repeat the URL, credentials included: leave it out
        throw new ConfigError('OMNIBUS_URL', `cannot parse ${trimmed}`, { backend });
      }
    }
    if (backend === 'nats') return natsOptions(trimmed);
    // redis: the adapter reads its own query parameters from the URL
    return { backend, options: { url: trimmed } };
  }
  const known = Object.values(adapters)
    .flatMap((a) => a.schemes)
    .map((s) => `${s}//`)
    .join(', ');
  // `bob:hunter2@host:4222` has "bob:" where the scheme belongs; redact() keeps the password out
  throw new ConfigError(
    'OMNIBUS_URL',
    `unknown scheme in ${trimmed || '(empty)'}; expected one of ${known}`,
    {
      hint: 'OMNIBUS_URL starts with the scheme of a backend, e.g. nats://127.0.0.1:4222 or memory://; credentials go after it',
    },
  );
}
