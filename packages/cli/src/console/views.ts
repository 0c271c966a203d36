// What the console's pages are sent: every field of a dead letter or message bounded in size,
// credentials removed from everything the bus wrote (errors, headers), payloads decoded once on
// the server. The page renders these with textContent only; this module bounds what it can be sent.
import type { DeadLetter, GroupInfo, Headers, Message } from '@omnibus/core';
import { redact } from '@omnibus/core';
import { payloadPreview, payloadText } from '../format.js';

/** Characters of a header value, an error or a pretty payload the page is sent at most. */
export const LIMITS = {
  header: 2_048,
  headers: 100,
  error: 4_096,
  listError: 300,
  preview: 160,
  payloadText: 65_536,
  payloadHex: 4_096,
  subject: 512,
} as const;

/** `text` cut to `max` characters, with whether it was cut. */
function bounded(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Headers bounded in number and length, credentials removed from their values. */
export function headersView(headers: Readonly<Headers>): { headers: [string, string][]; more: number } {
  const entries = Object.entries(headers);
  return {
    headers: entries
      .slice(0, LIMITS.headers)
      .map(([k, v]) => [bounded(k, 256), bounded(redact(String(v)), LIMITS.header)]),
    more: Math.max(0, entries.length - LIMITS.headers),
  };
}

/** The three ways the detail view can show a payload, each bounded. */
export interface PayloadView {
  readonly size: number;
  /** Which view suits it: `json` (it parses), `text` (valid UTF-8) or `hex`. */
  readonly kind: 'json' | 'text' | 'hex';
  /** Pretty-printed JSON, when it parses. */
  readonly json?: string;
  /** The text (invalid UTF-8 shown with U+FFFD). */
  readonly text: string;
  /** A hex dump of the first bytes: offset, 16 bytes, their printable ASCII. */
  readonly hex: string;
  /** Which of the three were cut. */
  readonly truncated: { readonly json: boolean; readonly text: boolean; readonly hex: boolean };
}

const lenient = new TextDecoder('utf-8');

function hexDump(payload: Uint8Array, max: number): string {
  const lines: string[] = [];
  for (let offset = 0; offset < Math.min(payload.length, max); offset += 16) {
    const row = payload.subarray(offset, Math.min(offset + 16, payload.length, max));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}

/** A payload's views, each bounded: at most 64 KiB of text or JSON and a 4 KiB hex dump. */
export function payloadView(payload: Uint8Array): PayloadView {
  const strict = payloadText(payload);
  let json: string | undefined;
  if (strict !== undefined && payload.length <= 8 * 1024 * 1024) {
    try {
      json = JSON.stringify(JSON.parse(strict), null, 2);
    } catch {
      json = undefined;
    }
  }
  const text = strict ?? lenient.decode(payload.subarray(0, LIMITS.payloadText * 4));
  return {
    size: payload.length,
    kind: json !== undefined ? 'json' : strict !== undefined ? 'text' : 'hex',
    ...(json === undefined ? {} : { json: bounded(json, LIMITS.payloadText) }),
    text: bounded(text, LIMITS.payloadText),
    hex: hexDump(payload, LIMITS.payloadHex),
    truncated: {
      json: json !== undefined && json.length > LIMITS.payloadText,
      text: strict === undefined ? payload.length > LIMITS.payloadText : text.length > LIMITS.payloadText,
      hex: payload.length > LIMITS.payloadHex,
    },
  };
}

/** A dead letter as a row of the list: no payload, bounded preview and error. */
export function deadLetterRow(dl: DeadLetter) {
  return {
    ref: dl.ref,
    id: bounded(dl.id, 256),
    subject: bounded(dl.subject, LIMITS.subject),
    deadLetterSubject: bounded(dl.deadLetterSubject, LIMITS.subject),
    group: dl.group ?? null,
    reason: bounded(redact(dl.reason), LIMITS.listError),
    error: dl.error === undefined ? null : bounded(redact(dl.error), LIMITS.listError),
    attempts: dl.attempts,
    at: dl.at,
    redriveCount: dl.redriveCount,
    size: dl.payload.length,
    preview: payloadPreview(dl.payload, LIMITS.preview),
  };
}

/** A dead letter for the detail view: every header and the payload's views, bounded. */
export function deadLetterDetail(dl: DeadLetter) {
  return {
    ...deadLetterRow(dl),
    reason: bounded(redact(dl.reason), LIMITS.error),
    error: dl.error === undefined ? null : bounded(redact(dl.error), LIMITS.error),
    ...headersView(dl.headers),
    payload: payloadView(dl.payload),
  };
}

/** A message as a line of the tail page. */
export function tailRow(m: Message) {
  return {
    at: m.publishedAt.getTime(),
    subject: bounded(m.subject, LIMITS.subject),
    id: bounded(m.id, 256),
    attempt: m.attempt,
    size: m.payload.length,
    preview: payloadPreview(m.payload, LIMITS.preview * 4),
    ...headersView(m.headers),
  };
}

/** A group as the groups page shows it (figures the broker cannot tell stay absent). */
export function groupRow(g: GroupInfo) {
  return {
    group: bounded(g.group, 256),
    patterns: g.patterns.slice(0, 20).map((p) => bounded(p, LIMITS.subject)),
    ...(g.members === undefined ? {} : { members: g.members }),
    ...(g.pending === undefined ? {} : { pending: g.pending }),
    ...(g.lag === undefined ? {} : { lag: g.lag }),
    ...(g.redelivered === undefined ? {} : { redelivered: g.redelivered }),
  };
}
