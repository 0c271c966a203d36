import type { DeadLetter, Headers } from '@omnibus/core';
import type { Colors } from './io.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

const hex4 = (ch: string) => `\\u${(ch.codePointAt(0) as number).toString(16).padStart(4, '0')}`;

/**
 * Text from the bus made safe to print on a terminal: control characters (C0 but tab, DEL) are
 * written as `\xHH`, so a subject, header, error or payload cannot move the cursor, clear the
 * screen, retitle the window or hide what follows. C1 controls and bidi overrides are handled
 * for every line by {@link terminalSafe}.
 */
export function printable(text: string): string {
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
    /[\u0000-\u0008\u000a-\u001f\u007f]/g,
    (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/**
 * A whole output line made safe: C1 controls (U+0080–U+009F: a terminal may read U+009B as CSI)
 * and bidi overrides and isolates (which reorder what is shown) written as `\uXXXX` — also
 * valid inside a JSON string, so JSON lines keep their value. The CLI's own colours are C0
 * escapes, untouched here.
 */
export function terminalSafe(line: string): string {
  return line.replace(/[\u0080-\u009f\u202a-\u202e\u2066-\u2069]/g, hex4);
}

/** The payload as text when it is valid UTF-8 without control characters (tabs and newlines allowed). */
export function payloadText(payload: Uint8Array): string | undefined {
  let text: string;
  try {
    text = decoder.decode(payload);
  } catch {
    return undefined;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? undefined : text;
}

/** A one-line preview of a payload, at most `max` characters: text with escaped newlines, or a hex head. */
export function payloadPreview(payload: Uint8Array, max: number): string {
  const text = payloadText(payload);
  if (text === undefined) {
    const hex = Buffer.from(payload.subarray(0, Math.max(4, Math.floor(max / 3)))).toString('hex');
    return `<${payload.length} bytes binary: ${hex}${payload.length * 2 > hex.length ? '…' : ''}>`;
  }
  const flat = printable(text.replace(/\r?\n/g, '\\n').replace(/\t/g, '\\t'));
  return flat.length > max ? `${flat.slice(0, Math.max(1, max - 1))}…` : flat;
}

/** The payload in JSON output: `payload` (text) or `payloadBase64`. */
export function payloadJson(payload: Uint8Array): { payload: string } | { payloadBase64: string } {
  const text = payloadText(payload);
  return text === undefined ? { payloadBase64: Buffer.from(payload).toString('base64') } : { payload: text };
}

/** `k=v k2=v2`, values quoted when they hold spaces. */
export function headersInline(headers: Readonly<Headers>): string {
  return Object.entries(headers)
    .map(([k, v]) => `${printable(k)}=${/[\s"]/.test(v) || v === '' ? JSON.stringify(v) : printable(v)}`)
    .join(' ');
}

/** A figure, or `–` when the broker cannot tell it. */
export function figure(value: number | undefined): string {
  return value === undefined ? '–' : String(value);
}

/** A column of a table: header, cell text, alignment, colour. */
export interface Column<T> {
  readonly header: string;
  readonly cell: (row: T) => string;
  readonly align?: 'left' | 'right';
  readonly color?: (text: string, row: T) => string;
  /** Cut longer cells to this many characters. */
  readonly max?: number;
}

function cut(text: string, max: number | undefined): string {
  return max !== undefined && text.length > max ? `${text.slice(0, Math.max(1, max - 1))}…` : text;
}

/** A plain-text table: columns padded to their widest cell, two spaces apart; colour never changes the widths. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[], c: Colors): string[] {
  const cells = rows.map((row) =>
    columns.map((col) => cut(printable(col.cell(row).replace(/\s+/g, ' ')), col.max)),
  );
  const widths = columns.map((col, i) =>
    Math.max(col.header.length, ...cells.map((r) => (r[i] as string).length)),
  );
  const pad = (text: string, i: number) => {
    const width = widths[i] as number;
    return columns[i]?.align === 'right' ? text.padStart(width) : text.padEnd(width);
  };
  const last = columns.length - 1;
  const trimEnd = (line: string) => line.replace(/\s+$/, '');
  const head = trimEnd(columns.map((col, i) => (i === last ? col.header : pad(col.header, i))).join('  '));
  const lines = [c.bold(head)];
  rows.forEach((row, r) => {
    const parts = columns.map((col, i) => {
      const text = cells[r]?.[i] as string;
      const padded = i === last && col.align !== 'right' ? text : pad(text, i);
      return col.color ? padded.replace(text, col.color(text, row)) : padded;
    });
    lines.push(trimEnd(parts.join('  ')));
  });
  return lines;
}

/** A dead letter as JSON: every field, the payload as text or base64. */
export function deadLetterJson(dl: DeadLetter): Record<string, unknown> {
  return {
    ref: dl.ref,
    id: dl.id,
    subject: dl.subject,
    deadLetterSubject: dl.deadLetterSubject,
    group: dl.group ?? null,
    reason: dl.reason,
    error: dl.error ?? null,
    attempts: dl.attempts,
    at: new Date(dl.at).toISOString(),
    redriveCount: dl.redriveCount,
    headers: dl.headers,
    ...payloadJson(dl.payload),
  };
}

/** The columns of `dlq list` (and of a dry run's listing). */
export function deadLetterColumns(c: Colors): Column<DeadLetter>[] {
  return [
    { header: 'REF', cell: (d) => d.ref, color: (t) => c.dim(t) },
    { header: 'DEAD-LETTERED AT', cell: (d) => new Date(d.at).toISOString() },
    { header: 'SUBJECT', cell: (d) => d.subject, color: (t) => c.cyan(t) },
    { header: 'GROUP', cell: (d) => d.group ?? '–' },
    { header: 'ATTEMPTS', cell: (d) => String(d.attempts), align: 'right' },
    { header: 'REDRIVES', cell: (d) => String(d.redriveCount), align: 'right' },
    { header: 'ERROR', cell: (d) => d.error ?? d.reason, color: (t) => c.red(t), max: 80 },
  ];
}

/** `1.2 s`, `340 ms`. */
export function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** `n thing` / `n things`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
