import { ConfigError } from '@omnibus/core';
import { adapters, type BackendName } from './adapters.js';

/** What an `OMNIBUS_URL` says: the backend and the adapter options it implies. */
export interface ParsedUrl {
  backend: BackendName;
  options: Record<string, unknown>;
}

const MEMORY_NUMBERS = ['maxPayloadBytes', 'dedupeWindowMs', 'maxBuffered', 'blockTimeoutMs'] as const;

function memoryOptions(url: string): Record<string, unknown> {
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  const params = new URLSearchParams(query);
  const options: Record<string, unknown> = {};
  for (const [key, value] of params) {
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
      options[key] = Number(value);
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
  return { brokers: hosts, url, ssl: url.startsWith('kafka+ssl:') };
}

/**
 * Parses `memory://`, `nats://…`, `tls://…`, `redis://…`, `rediss://…`,
 * `kafka://h1:9092,h2:9092`. Errors never echo credentials: every `OmnibusError`
 * message passes through `redact()`.
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
    try {
      new URL(trimmed);
    } catch {
      // the parser's own error would repeat the URL, credentials included: leave it out
      throw new ConfigError('OMNIBUS_URL', `cannot parse ${trimmed}`, { backend });
    }
    return { backend, options: { url: trimmed } };
  }
  const known = Object.values(adapters)
    .flatMap((a) => a.schemes)
    .map((s) => `${s}//`)
    .join(', ');
  throw new ConfigError('OMNIBUS_URL', `unknown scheme in ${trimmed || '(empty)'}; expected one of ${known}`);
}
