import type { UrlParameters } from '@omnibus/core';

function history(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^\d+$/.test(text)) return { maxMessages: Number(text) };
  throw new Error('must be true, false or a message count');
}

function stream(text: string, previous: unknown): unknown {
  const colon = text.indexOf(':');
  const name = colon > 0 ? text.slice(0, colon) : '';
  const subjects = text
    .slice(colon + 1)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!name || colon < 0 || subjects.length === 0) {
    throw new Error('must be NAME:subject[,subject…], e.g. stream=ORDERS:orders.>');
  }
  return [...((previous as unknown[] | undefined) ?? []), { name, subjects }];
}

/**
 * The query parameters of `memory://`: every `createMemoryBus` option but the
 * functions (`onDrop`, `logger`). The READMEs list exactly these (a test holds
 * them to it).
 */
export const MEMORY_URL_PARAMETERS: UrlParameters = {
  history: { type: history },
  overflow: { type: 'text' },
  maxPayloadBytes: { type: 'integer' },
  dedupeWindowMs: { type: 'integer' },
  dedupeMaxEntries: { type: 'integer' },
  maxBuffered: { type: 'integer' },
  blockTimeoutMs: { type: 'integer' },
  delivery: { type: 'text' },
};

/**
 * The query parameters of `nats://` and `tls://`: stream settings (applied as
 * `streamDefaults`), explicit streams (`stream=NAME:subject[,subject…]`, repeatable)
 * and the other `createNatsBus` options that are not objects or functions. The
 * READMEs list exactly these (a test holds them to it).
 */
export const NATS_URL_PARAMETERS: UrlParameters = {
  stream: { option: 'streams', type: stream },
  retention: { option: 'streamDefaults.retention', type: 'text' },
  storage: { option: 'streamDefaults.storage', type: 'text' },
  maxAgeMs: { option: 'streamDefaults.maxAgeMs', type: 'integer' },
  maxBytes: { option: 'streamDefaults.maxBytes', type: 'integer' },
  replicas: { option: 'streamDefaults.replicas', type: 'integer' },
  duplicateWindowMs: { option: 'streamDefaults.duplicateWindowMs', type: 'integer' },
  streamPrefix: { type: 'text' },
  provision: { type: 'text' },
  maxPayloadBytes: { type: 'integer' },
  pullExpiresMs: { type: 'integer' },
  connectTimeoutMs: { type: 'integer' },
  publishTimeoutMs: { type: 'integer' },
  discoveryIntervalMs: { type: 'integer' },
  delivery: { type: 'text' },
};
