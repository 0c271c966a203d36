import type { Headers, OutgoingMessage } from '@omnibus/core';

/** An entry read from a stream (fields still raw). */
export interface RawEntry {
  readonly stream: string;
  readonly entryId: string;
  readonly fields: readonly Buffer[];
  /** Deliveries so far including this one (the entry's delivery counter). */
  readonly deliveries: number;
}

/** A decoded entry. */
export interface DecodedEntry {
  readonly id: string;
  readonly payload: Uint8Array;
  readonly headers: Headers;
  readonly publishedAt: number;
}

/** Headers travel as one JSON field, left out when there are none. */
export function encodeHeaders(message: OutgoingMessage): string {
  for (const _ in message.headers) return JSON.stringify(message.headers);
  return '';
}

/** Decodes the fields the publish script wrote (`i`, `t`, `h`, `p`). */
export function decodeEntry(entry: RawEntry): DecodedEntry {
  let id = entry.entryId;
  let publishedAt = Number(entry.entryId.split('-', 1)[0]);
  let headers: Headers = {};
  let payload: Uint8Array = new Uint8Array(0);
  const f = entry.fields;
  for (let i = 0; i + 1 < f.length; i += 2) {
    const name = (f[i] as Buffer).toString();
    const value = f[i + 1] as Buffer;
    if (name === 'p') payload = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    else if (name === 'i') id = value.toString();
    else if (name === 't') publishedAt = Number(value.toString());
    else if (name === 'h') headers = JSON.parse(value.toString()) as Headers;
  }
  return { id, payload, headers, publishedAt };
}

type Reply = Buffer | null | number | Reply[];

/** Parses an `XREADGROUP` reply: `[[stream, [[id, fields], …]], …]` (entries are first deliveries). */
export function parseReadReply(reply: unknown): RawEntry[] {
  const out: RawEntry[] = [];
  if (!Array.isArray(reply)) return out;
  for (const [stream, entries] of reply as [Buffer, [Buffer, Buffer[] | null][]][]) {
    const key = stream.toString();
    for (const [id, fields] of entries) {
      if (!fields) continue; // deleted while pending (only when re-reading history)
      out.push({ stream: key, entryId: id.toString(), fields, deliveries: 1 });
    }
  }
  return out;
}

/** Parses a claim script reply: `[[stream, id, fields | nil, deliveries], …]`. */
export function parseClaimReply(reply: unknown): { claimed: RawEntry[]; trimmed: number } {
  const claimed: RawEntry[] = [];
  let trimmed = 0;
  for (const row of (reply ?? []) as Reply[][]) {
    const [stream, id, fields, deliveries] = row as [Buffer, Buffer, Buffer[] | null, number];
    if (!Array.isArray(fields) || Number(deliveries) < 0) {
      trimmed++;
      continue;
    }
    claimed.push({
      stream: stream.toString(),
      entryId: id.toString(),
      fields,
      deliveries: Number(deliveries),
    });
  }
  return { claimed, trimmed };
}
