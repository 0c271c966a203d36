import type { UrlParameters } from '@omnibus/core';

function history(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^\d+$/.test(text)) return { maxMessages: Number(text) };
  throw new Error('must be true, false or a message count');
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
