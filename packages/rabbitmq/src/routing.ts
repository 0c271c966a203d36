import { createHash } from 'node:crypto';
import { InvalidSubjectError } from '@omnibus/core';

/** AMQP routing and binding keys are short strings: at most 255 bytes of UTF-8. */
const MAX_KEY_BYTES = 255;
/** A token longer than this (UTF-8 bytes) is replaced by a fixed-length digest of itself. */
const MAX_TOKEN_BYTES = 48;

/**
 * One subject token as an AMQP routing-key word. `#` is a wildcard to AMQP and `%` is the
 * escape, so both are percent-encoded; a long token becomes `%h` + a digest of it. The same
 * token always maps to the same word, in a subject and in a pattern alike, so the broker's
 * matching stays the contract's.
 */
function word(token: string): string {
  const escaped = token.includes('%') || token.includes('#') ? token.replace(/[%#]/g, escapeChar) : token;
  if (Buffer.byteLength(escaped) <= MAX_TOKEN_BYTES) return escaped;
  return `%h${createHash('sha256').update(token).digest('base64url').slice(0, 22)}`;
}

const escapeChar = (c: string) => (c === '%' ? '%25' : '%23');

function checkedKey(key: string, what: string, original: string): string {
  if (Buffer.byteLength(key) > MAX_KEY_BYTES)
    throw new InvalidSubjectError(
      original,
      `too long for RabbitMQ: as a ${what} it takes ${Buffer.byteLength(key)} bytes, AMQP allows ${MAX_KEY_BYTES}`,
    );
  return key;
}

/** The routing key a subject is published with. */
export function routingKeyOf(subject: string): string {
  return checkedKey(subject.split('.').map(word).join('.'), 'routing key', subject);
}

/**
 * The binding key of a pattern: `*` stays `*`; `>` (one or more tokens) becomes `*.#`, since
 * AMQP's `#` alone also matches zero words.
 */
export function bindingKeyOf(pattern: string): string {
  const words = pattern.split('.').map((t) => (t === '*' ? '*' : t === '>' ? '*.#' : word(t)));
  return checkedKey(words.join('.'), 'binding key', pattern);
}
