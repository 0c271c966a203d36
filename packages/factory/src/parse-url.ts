import { ConfigError } from '@omnibus/core';
import { adapters, type BackendName } from './adapters.js';

/** What an `OMNIBUS_URL` says: the backend and the adapter options it implies. */
export interface ParsedUrl {
  backend: BackendName;
  options: Record<string, unknown>;
}

const MEMORY_NUMBERS = [
  'maxPayloadBytes',
  'dedupeWindowMs',
  'dedupeMaxEntries',
  'maxBuffered',
  'blockTimeoutMs',
] as const;

function queryOf(url: string): URLSearchParams {
  return new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
}

function integer(key: string, value: string, min = 0): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new ConfigError(`OMNIBUS_URL.${key}`, `must be an integer ≥ ${min}`);
  }
  return n;
}

/** Stream settings of `nats://…?…`, set as `streamDefaults` (automatic streams and defaults of explicit ones). */
const NATS_STREAM_SETTINGS = {
  retention: 'text',
  storage: 'text',
  maxAgeMs: 0,
  maxBytes: -1,
  replicas: 1,
  duplicateWindowMs: 0,
} as const;
/** Other `createNatsBus` options a `nats://…?…` query may set. */
const NATS_OPTIONS = {
  streamPrefix: 'text',
  provision: 'text',
  maxPayloadBytes: 1,
  pullExpiresMs: 1,
  connectTimeoutMs: 1,
  publishTimeoutMs: 1,
  discoveryIntervalMs: 1,
} as const;

/**
 * `nats://host:4222?storage=memory&maxAgeMs=60000&stream=ALL:>` → `createNatsBus`
 * options. Stream settings become `streamDefaults`; each `stream=NAME:subject[,subject]`
 * adds an explicit stream (for subjects that must live in a stream of their own). A
 * pattern starting with a wildcard needs none: it spans the automatic streams. The URL
 * handed to the adapter has no query.
 */
function natsOptions(url: string): Record<string, unknown> {
  const query = url.includes('?') ? url.indexOf('?') : url.length;
  const options: Record<string, unknown> = { url: url.slice(0, query) };
  const streamDefaults: Record<string, unknown> = {};
  const streams: { name: string; subjects: string[] }[] = [];
  for (const [key, value] of queryOf(url)) {
    if (key === 'stream') {
      const colon = value.indexOf(':');
      const name = colon > 0 ? value.slice(0, colon) : '';
      const subjects = value
        .slice(colon + 1)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (!name || colon < 0 || subjects.length === 0) {
        throw new ConfigError('OMNIBUS_URL.stream', 'must be NAME:subject[,subject…], e.g. stream=ALL:>');
      }
      streams.push({ name, subjects });
    } else if (Object.hasOwn(NATS_STREAM_SETTINGS, key)) {
      const kind = NATS_STREAM_SETTINGS[key as keyof typeof NATS_STREAM_SETTINGS];
      streamDefaults[key] = kind === 'text' ? value : integer(key, value, kind);
    } else if (Object.hasOwn(NATS_OPTIONS, key)) {
      const kind = NATS_OPTIONS[key as keyof typeof NATS_OPTIONS];
      options[key] = kind === 'text' ? value : integer(key, value, kind);
    } else {
      throw new ConfigError(
        `OMNIBUS_URL.${key}`,
        `unknown nats:// option; known: stream, ${[...Object.keys(NATS_STREAM_SETTINGS), ...Object.keys(NATS_OPTIONS)].join(', ')}`,
      );
    }
  }
  if (Object.keys(streamDefaults).length > 0) options.streamDefaults = streamDefaults;
  if (streams.length > 0) options.streams = streams;
  return options;
}

function memoryOptions(url: string): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [key, value] of queryOf(url)) {
    if (key === 'history') {
      const n = Number(value);
      options.history =
        value === 'true'
          ? true
          : value === 'false'
            ? false
            : Number.isInteger(n)
              ? { maxMessages: n }
              : value;
    } else if (key === 'overflow') {
      options.overflow = value;
    } else if ((MEMORY_NUMBERS as readonly string[]).includes(key)) {
      options[key] = integer(key, value);
    } else {
      throw new ConfigError(
        `OMNIBUS_URL.${key}`,
        `unknown memory:// option; known: history, overflow, ${MEMORY_NUMBERS.join(', ')}`,
      );
    }
  }
  return options;
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
 * `nats://h:4222?stream=ALL:>&storage=memory&maxAgeMs=60000` (see the factory
 * README for the full list); Redis reads its own from the URL. An unknown
 * parameter is a `ConfigError` naming it. Errors never echo credentials: every
 * `OmnibusError` message passes through `redact()`.
 */
export function parseOmnibusUrl(url: string): ParsedUrl {
  const trimmed = url.trim();
  const colon = trimmed.indexOf(':');
  const scheme = colon > 0 ? `${trimmed.slice(0, colon + 1).toLowerCase()}` : '';
  for (const [backend, entry] of Object.entries(adapters) as [
    BackendName,
    (typeof adapters)[BackendName],
  ][]) {
    if (!(entry.schemes as readonly string[]).includes(scheme)) continue;
    if (backend === 'memory') return { backend, options: memoryOptions(trimmed) };
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
    if (backend === 'nats') return { backend, options: natsOptions(trimmed) };
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
