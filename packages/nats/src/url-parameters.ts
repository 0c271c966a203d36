import type { UrlParameters } from '@omnibus/core';

/** `stream=NAME:subject[,subject…]` (repeatable): one more explicit stream. */
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
 * The query parameters of `nats://` and `tls://` URLs (removed before the client sees the
 * servers): stream settings (applied as `streamDefaults`), explicit streams
 * (`stream=NAME:subject[,subject…]`, repeatable) and the other `createNatsBus` options that are
 * not objects or functions. The READMEs list exactly these (a test holds them to it).
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
