import {
  assertMessageId,
  assertSubject,
  DEFAULT_MAX_PAYLOAD_BYTES,
  encodePayload,
  generateId,
  type Headers,
  InvalidArgumentError,
  normalizeHeaders,
  type Payload,
} from '@omnibus/core';
import { assertStorableText, explainDatabaseError } from './errors.js';
import { DEFAULT_SCHEMA, schemaNames } from './schema.js';
import { runQuery, type Transaction } from './sql-client.js';

/** Options of one outbox message: the same as `bus.publish`'s. */
export interface OutboxPublishOptions {
  /** Message id (the relay publishes with it, so the backend's dedupe absorbs a re-forward). Default: generated. */
  id?: string;
  /** Headers delivered with the message. */
  headers?: Headers;
}

/** One entry of `outbox.publishBatch`. */
export interface OutboxEntry extends OutboxPublishOptions {
  subject: string;
  payload: Payload;
}

/** What `outbox.publish` wrote: the message id the relay will publish with. */
export interface OutboxReceipt {
  readonly id: string;
  readonly subject: string;
}

/** Options of `createOutbox`. */
export interface OutboxOptions {
  /** Schema of the outbox tables (default `omnibus`; run `migrate` with the same). */
  schema?: string;
  /** Largest payload accepted (bytes). Default 1 MiB, the buses' default: keep it at or below the bus's limit. */
  maxPayloadBytes?: number;
  /**
   * Headers taken at each write from the writer's context and stored with the row (a message's
   * own headers win): `traceHeaders` from `@omnibus/otel` stores the active trace context, so the
   * relay's spans and the consumers' continue the trace of the request that wrote the row.
   */
  contextHeaders?: () => Headers | undefined;
}

/** Writes messages into the outbox table inside the caller's transaction. */
export interface Outbox {
  /**
   * Writes one message in `tx`, the caller's own transaction (a `pg` client between BEGIN and
   * COMMIT, a postgres.js transaction `sql`, or `{ query(text, params) }` — e.g. a Kysely
   * transaction). It is published by the relay once that transaction commits, and never if it
   * rolls back. Input is validated like `bus.publish` (subject grammar, payload limit, headers,
   * id) before anything is written.
   */
  publish(
    tx: Transaction,
    subject: string,
    payload: Payload,
    options?: OutboxPublishOptions,
  ): Promise<OutboxReceipt>;
  /** Writes several messages in `tx` with one statement per 1,000, in order. All are validated first. */
  publishBatch(tx: Transaction, entries: readonly OutboxEntry[]): Promise<OutboxReceipt[]>;
}

const ROWS_PER_STATEMENT = 1_000;

interface OutboxRow {
  readonly id: string;
  readonly subject: string;
  readonly payload: Buffer;
  readonly headers: string;
}

function toRow(entry: OutboxEntry, limit: number, contextHeaders?: Headers): OutboxRow {
  if (entry === null || typeof entry !== 'object') {
    throw new InvalidArgumentError('each outbox entry must be { subject, payload, id?, headers? }', {
      backend: 'outbox',
    });
  }
  assertSubject(entry.subject, 'outbox');
  assertStorableText(entry.subject, 'the subject');
  const bytes = encodePayload(entry.payload, limit, 'outbox');
  const headers = normalizeHeaders(
    contextHeaders === undefined ? entry.headers : { ...contextHeaders, ...entry.headers },
    'outbox',
  );
  for (const [name, value] of Object.entries(headers)) {
    assertStorableText(name, `header name ${JSON.stringify(name.slice(0, 80))}`);
    assertStorableText(value, `header ${JSON.stringify(name.slice(0, 80))}`);
  }
  let id: string;
  if (entry.id === undefined) id = generateId();
  else {
    assertMessageId(entry.id, 'outbox');
    assertStorableText(entry.id, 'the message id');
    id = entry.id;
  }
  return {
    id,
    subject: entry.subject,
    payload: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    headers: JSON.stringify(headers),
  };
}

/** Creates the writer side of the outbox (stateless: one per process is plenty). */
export function createOutbox(options: OutboxOptions = {}): Outbox {
  const names = schemaNames(options.schema ?? DEFAULT_SCHEMA);
  const limit = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (!Number.isInteger(limit) || limit <= 0) {
    throw new InvalidArgumentError('maxPayloadBytes must be a positive integer', { backend: 'outbox' });
  }
  const { contextHeaders } = options;
  if (contextHeaders !== undefined && typeof contextHeaders !== 'function') {
    throw new InvalidArgumentError('contextHeaders must be a function returning headers', {
      backend: 'outbox',
    });
  }
  const fromContext = (): Headers | undefined => contextHeaders?.() ?? undefined;

  async function insert(tx: Transaction, rows: readonly OutboxRow[]): Promise<void> {
    for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(start, start + ROWS_PER_STATEMENT);
      const values = chunk.map(
        (_, i) => `($${i * 4 + 1}, $${i * 4 + 2}, $${i * 4 + 3}, $${i * 4 + 4}::jsonb)`,
      );
      const params = chunk.flatMap((row) => [row.id, row.subject, row.payload, row.headers]);
      try {
        await runQuery(
          tx,
          `INSERT INTO ${names.outbox} (id, subject, payload, headers) VALUES ${values.join(', ')}`,
          params,
        );
      } catch (error) {
        throw explainDatabaseError(error, names);
      }
    }
  }

  return {
    async publish(tx, subject, payload, publishOptions = {}) {
      const row = toRow({ ...publishOptions, subject, payload }, limit, fromContext());
      await insert(tx, [row]);
      return { id: row.id, subject: row.subject };
    },
    async publishBatch(tx, entries) {
      if (!Array.isArray(entries)) {
        throw new InvalidArgumentError('publishBatch takes an array of { subject, payload, id?, headers? }', {
          backend: 'outbox',
        });
      }
      const context = fromContext();
      const rows = entries.map((entry) => toRow(entry, limit, context));
      await insert(tx, rows);
      return rows.map((row) => ({ id: row.id, subject: row.subject }));
    },
  };
}
