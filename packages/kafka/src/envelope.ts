import type { Headers, OutgoingMessage } from '@omnibus/core';
import type { IHeaders, KafkaMessage } from './client.js';

/** Kafka headers Omnibus uses for its own metadata; stripped before delivery. */
export const META = {
  /** Read from records of versions before 0.2 only: the key is the subject. */
  subject: 'omnibus-subject',
  id: 'omnibus-id',
  /** On retry-topic copies (and records of versions before 0.2): the publish time, epoch ms. */
  publishedAt: 'omnibus-published-at',
  /** On retry-topic copies: the attempt the copy is for. */
  attempt: 'omnibus-attempt',
  /** On retry-topic copies: not to be handed out before this time (epoch ms). */
  due: 'omnibus-due',
  /** On retry-topic copies: the consumer group the retry is for (other groups skip it). */
  group: 'omnibus-group',
} as const;
const RESERVED = new Set<string>(Object.values(META));
/**
 * Prefix of an application header whose name is one of `META`'s (or starts with this prefix):
 * sent as `omnibus-h-<name>` and delivered under its own name again, so that it round-trips and
 * can never be read as Omnibus's metadata (another subject, time or attempt).
 */
const ESCAPED = 'omnibus-h-';

/**
 * A Kafka record for one outgoing message, with one header of Omnibus metadata: the key is the
 * subject (one subject, one partition, and the subject when read back) and the record's
 * timestamp (CreateTime) is the publish time, so only the id travels as a header. Each header
 * costs librdkafka a conversion on both sides: the subject and time headers of earlier versions
 * (still read, see `decodeRecord`) cost batched publishing and consuming about a third.
 */
export function toRecord(m: OutgoingMessage): {
  key: string;
  value: Buffer;
  headers: IHeaders;
  timestamp: string;
} {
  const headers: IHeaders = {};
  for (const name in m.headers) {
    const value = m.headers[name] as string;
    if (RESERVED.has(name) || name.startsWith(ESCAPED)) headers[`${ESCAPED}${name}`] = value;
    else headers[name] = value;
  }
  headers[META.id] = m.id;
  return {
    key: m.subject,
    value: Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength),
    headers,
    timestamp: String(m.publishedAt),
  };
}

/** A record read back: the user's headers plus Omnibus metadata. */
export interface DecodedRecord {
  readonly subject: string;
  readonly id: string;
  readonly publishedAt: number;
  readonly headers: Headers;
  readonly payload: Uint8Array;
  /** 1 for an original, the copy's attempt for a retry. */
  readonly attempt: number;
  readonly due: number;
  readonly group: string | undefined;
}

const text = (v: Buffer | string | (Buffer | string)[] | undefined): string | undefined => {
  if (v === undefined) return undefined;
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : one.toString();
};

/** Decodes a fetched record; `fallbackId` names records written by other producers. */
export function decodeRecord(m: KafkaMessage, fallbackId: string): DecodedRecord {
  const raw = m.headers ?? {};
  const headers: Headers = {};
  for (const [name, value] of Object.entries(raw)) {
    if (RESERVED.has(name)) continue;
    const t = text(value);
    if (t !== undefined) headers[name.startsWith(ESCAPED) ? name.slice(ESCAPED.length) : name] = t;
  }
  const value = m.value ?? Buffer.alloc(0);
  return {
    subject: text(raw[META.subject]) ?? m.key?.toString() ?? '',
    id: text(raw[META.id]) ?? fallbackId,
    publishedAt: Number(text(raw[META.publishedAt]) ?? m.timestamp),
    headers,
    payload: new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
    attempt: Number(text(raw[META.attempt]) ?? 1),
    due: Number(text(raw[META.due]) ?? 0),
    group: text(raw[META.group]),
  };
}

/** A retry-topic copy of a delivered record: same key, value and headers, plus attempt, due time and group. */
export function retryRecord(
  m: KafkaMessage,
  attempt: number,
  due: number,
  group: string,
): { key: Buffer | null; value: Buffer | null; headers: IHeaders } {
  const headers: IHeaders = { ...(m.headers ?? {}) };
  // the copy is a new record with a timestamp of its own: the original's publish time goes along
  if (headers[META.publishedAt] === undefined) headers[META.publishedAt] = m.timestamp;
  headers[META.attempt] = String(attempt);
  headers[META.due] = String(due);
  headers[META.group] = group;
  return { key: m.key ?? null, value: m.value ?? null, headers };
}
