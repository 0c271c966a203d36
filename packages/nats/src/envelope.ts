import { type MsgHdrs, headers as natsHeaders } from '@nats-io/transport-node';
import type { Headers } from '@omnibus/core';

/** NATS headers Omnibus uses for its own metadata; stripped before delivery. */
export const META = {
  id: 'Omnibus-Id',
  publishedAt: 'Omnibus-Published-At',
  msgId: 'Nats-Msg-Id',
} as const;

const ENCODED = 'omnibus-b64:';
/**
 * Prefix of an application header whose name the server or Omnibus would read as its own
 * (`Nats-*`: `Nats-Expected-Stream` fails the publish, `Nats-Msg-Id` deduplicates it, and the
 * server's headers are dropped on delivery; `Omnibus-Id`, `Omnibus-Published-At`): sent as
 * `Omnibus-H-<name>` and delivered under its own name again, so that every header round-trips.
 */
const ESCAPED = 'Omnibus-H-';

/** Does an application header need `ESCAPED` in front on the wire? */
function escaped(name: string): boolean {
  return (
    name.startsWith('Nats-') || name.startsWith(ESCAPED) || name === META.id || name === META.publishedAt
  );
}
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// NATS trims header values, so values with leading or trailing white space (and
// values that look encoded) travel base64-encoded and are decoded on delivery.
function needsEncoding(value: string): boolean {
  return value !== value.trim() || value.startsWith(ENCODED);
}

function toBase64(value: string): string {
  return Buffer.from(encoder.encode(value)).toString('base64');
}

function fromBase64(value: string): string {
  return decoder.decode(Buffer.from(value, 'base64'));
}

/**
 * Builds NATS headers: the user's (byte-exact after decoding) plus Omnibus
 * metadata. `Nats-Msg-Id` is set by the client's `msgID` publish option.
 */
export function encodeHeaders(user: Readonly<Headers>, id: string, publishedAt: number): MsgHdrs {
  const h = natsHeaders();
  for (const [name, value] of Object.entries(user))
    h.set(
      escaped(name) ? `${ESCAPED}${name}` : name,
      needsEncoding(value) ? `${ENCODED}${toBase64(value)}` : value,
    );
  h.set(META.id, id);
  h.set(META.publishedAt, String(publishedAt));
  return h;
}

/** Splits delivered NATS headers into the user's headers and Omnibus metadata. */
export function decodeHeaders(h: MsgHdrs | undefined): {
  headers: Headers;
  id: string | undefined;
  publishedAt: number | undefined;
} {
  const headers: Headers = {};
  let id: string | undefined;
  let publishedAt: number | undefined;
  if (!h) return { headers, id, publishedAt };
  for (const [name, values] of h) {
    const value = values[0] ?? '';
    if (name === META.id) id = value;
    else if (name === META.publishedAt) publishedAt = Number(value);
    else if (name === META.msgId || name.startsWith('Nats-')) continue;
    else
      headers[name.startsWith(ESCAPED) ? name.slice(ESCAPED.length) : name] = value.startsWith(ENCODED)
        ? fromBase64(value.slice(ENCODED.length))
        : value;
  }
  return { headers, id, publishedAt };
}
