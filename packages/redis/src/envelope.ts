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

/** Decodes the fields the publisher wrote (`i`, `t`, `h`, `p`); other fields are ignored. */
export function decodeEntry(entry: RawEntry): DecodedEntry {
  let id = entry.entryId;
  let publishedAt = -1;
  let headers: Headers = {};
  let payload: Uint8Array = EMPTY;
  const f = entry.fields;
  for (let i = 0; i + 1 < f.length; i += 2) {
    const name = f[i] as Buffer;
    if (name.length !== 1) continue;
    const value = f[i + 1] as Buffer;
    switch (name[0]) {
      case P:
        payload = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
        break;
      case I:
        id = value.toString();
        break;
      case T:
        publishedAt = Number(value.toString());
        break;
      case H:
        headers = JSON.parse(value.toString()) as Headers;
        break;
    }
  }
  if (publishedAt < 0) publishedAt = Number(entry.entryId.slice(0, entry.entryId.indexOf('-')));
  return { id, payload, headers, publishedAt };
}

const EMPTY = new Uint8Array(0);
const [P, I, T, H] = [0x70, 0x69, 0x74, 0x68] as const; // 'p', 'i', 't', 'h'

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
