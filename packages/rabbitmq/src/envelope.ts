import type { Headers, OutgoingMessage } from '@omnibus/core';
import type { AsyncMessage, Envelope } from 'rabbitmq-client';

/** AMQP header names Omnibus writes; the application's headers travel as one JSON header. */
const SUBJECT = 'omnibus-subject';
const PUBLISHED_AT = 'omnibus-published-at';
const ATTEMPT = 'omnibus-attempt';
const HEADERS = 'omnibus-headers';
/** The id, whole: AMQP's `message-id` holds 255 bytes and the client cuts longer ones. */
const ID = 'omnibus-id';
const MAX_MESSAGE_ID_BYTES = 255;

/** A message as read from a queue. */
export interface DecodedMessage {
  readonly id: string;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly headers: Headers;
  readonly publishedAt: number;
  /** The attempt written by the last redelivery copy (1 when none). */
  readonly attempt: number;
}

/**
 * The AMQP properties of a message: persistent, with Omnibus's metadata in headers, each only
 * when needed: the subject when the routing key is not the subject itself (an escaped or
 * shortened token, a copy sent to a queue by name), the id when it does not fit `message-id`.
 */
export function envelopeOf(message: OutgoingMessage, exchange: string, routingKey: string): Envelope {
  const headers: Record<string, string> = { [PUBLISHED_AT]: String(message.publishedAt) };
  if (routingKey !== message.subject || exchange === '') headers[SUBJECT] = message.subject;
  for (const _ in message.headers) {
    headers[HEADERS] = JSON.stringify(message.headers);
    break;
  }
  let messageId: string | undefined = message.id;
  if (Buffer.byteLength(message.id) > MAX_MESSAGE_ID_BYTES) {
    headers[ID] = message.id;
    messageId = undefined;
  }
  return { exchange, routingKey, messageId, durable: true, headers };
}

/**
 * A redelivery copy of a message for a queue (through the default exchange, or a delay queue that
 * dead-letters into it): the same body and metadata, with `attempt`.
 */
export function redeliveryEnvelope(record: DecodedMessage, routingKey: string, attempt: number): Envelope {
  const headers: Record<string, string> = {
    [ATTEMPT]: String(attempt),
    [SUBJECT]: record.subject,
    [PUBLISHED_AT]: String(record.publishedAt),
  };
  for (const _ in record.headers) {
    headers[HEADERS] = JSON.stringify(record.headers);
    break;
  }
  let messageId: string | undefined = record.id;
  if (Buffer.byteLength(record.id) > MAX_MESSAGE_ID_BYTES) {
    headers[ID] = record.id;
    messageId = undefined;
  }
  return { exchange: '', routingKey, messageId, durable: true, headers };
}

/** Reads a delivered message; a foreign message without Omnibus headers is read by its routing key. */
export function decodeMessage(m: AsyncMessage): DecodedMessage {
  const h = m.headers ?? {};
  const body = m.body;
  const payload =
    body instanceof Uint8Array
      ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
      : typeof body === 'string'
        ? Buffer.from(body)
        : body == null
          ? new Uint8Array(0)
          : Buffer.from(JSON.stringify(body));
  let headers: Headers = {};
  if (typeof h[HEADERS] === 'string') {
    try {
      headers = JSON.parse(h[HEADERS]) as Headers;
    } catch {
      headers = {};
    }
  }
  const attempt = Number(h[ATTEMPT]);
  const publishedAt = Number(h[PUBLISHED_AT]);
  return {
    id: typeof h[ID] === 'string' ? h[ID] : (m.messageId ?? `${m.routingKey}:${m.deliveryTag}`),
    subject: typeof h[SUBJECT] === 'string' ? h[SUBJECT] : m.routingKey,
    payload,
    headers,
    publishedAt: Number.isFinite(publishedAt) ? publishedAt : (m.timestamp ?? 0) * 1000 || Date.now(),
    attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : 1,
  };
}
