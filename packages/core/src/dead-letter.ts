import { redact } from './redact.js';
import type { Headers } from './types.js';

/** Headers Omnibus adds to a dead-lettered message (the original headers are kept too). */
export const DLQ_HEADERS = {
  reason: 'omnibus-dlq-reason',
  error: 'omnibus-dlq-error',
  subject: 'omnibus-dlq-subject',
  id: 'omnibus-dlq-id',
  attempts: 'omnibus-dlq-attempts',
  group: 'omnibus-dlq-group',
  at: 'omnibus-dlq-at',
} as const;

/** Default dead-letter subject: `dlq.<subject>`. */
export const defaultDeadLetterSubject = (subject: string): string => `dlq.${subject}`;

const MAX_ERROR_HEADER = 1024;

/** A header-safe, credential-free, bounded description of an error. */
export function describeError(error: unknown): string {
  let text: string;
  if (error instanceof Error) text = `${error.name}: ${error.message}`;
  else if (typeof error === 'string') text = error;
  else {
    try {
      text = JSON.stringify(error) ?? String(error);
    } catch {
      text = String(error);
    }
  }
  const clean = redact(text).replace(/[\r\n]+/g, ' ');
  return clean.length > MAX_ERROR_HEADER ? `${clean.slice(0, MAX_ERROR_HEADER - 1)}…` : clean;
}

/** Builds the headers of a dead-lettered copy of a message. */
export function deadLetterHeaders(input: {
  headers: Readonly<Headers>;
  subject: string;
  id: string;
  attempt: number;
  group: string | undefined;
  reason: string;
  error?: unknown;
}): Headers {
  const out: Headers = { ...input.headers };
  out[DLQ_HEADERS.reason] = describeError(input.reason);
  out[DLQ_HEADERS.subject] = input.subject;
  out[DLQ_HEADERS.id] = input.id;
  out[DLQ_HEADERS.attempts] = String(input.attempt);
  out[DLQ_HEADERS.group] = input.group ?? '';
  out[DLQ_HEADERS.at] = new Date().toISOString();
  if (input.error !== undefined) out[DLQ_HEADERS.error] = describeError(input.error);
  return out;
}
