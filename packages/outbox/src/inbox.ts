import { InvalidArgumentError, type Message } from '@omnibus/core';
import type { OutboxDatabase } from './database.js';
import { explainDatabaseError } from './errors.js';
import { DEFAULT_SCHEMA, schemaNames } from './schema.js';
import { runQuery, type Transaction } from './sql-client.js';

/** Options of `createInbox`. */
export interface InboxOptions<Tx extends Transaction> {
  /** Where the inbox table lives (the same database as the handler's own writes). */
  database: OutboxDatabase<Tx>;
  /**
   * Who is handling: one name per consumer (usually the group). Two consumers of one message
   * each have its effect once; the same consumer never twice.
   */
  consumer: string;
  /** Schema of the inbox table. Default `omnibus`. */
  schema?: string;
}

/** Counters of one inbox since it was created. */
export interface InboxStats {
  /** Messages whose handler ran and committed. */
  readonly processed: number;
  /** Deliveries recognised as already processed: acknowledged without running the handler. */
  readonly duplicates: number;
  /** Handler runs that threw (their transaction, inbox row included, was rolled back; a failed COMMIT is not counted here). */
  readonly failed: number;
}

/** A handler that gets the message and the transaction its writes must use. */
export type InboxHandler<Tx> = (message: Message, tx: Tx) => Promise<void> | void;

/** Gives each message's effect once per consumer: the "effectively once" level on any backend. */
export interface Inbox<Tx extends Transaction> {
  /**
   * Wraps `handler` for `bus.consume`: each delivery opens a transaction, records
   * `(consumer, message.id)` in the inbox table, and runs `handler(message, tx)` in the same
   * transaction. A delivery of an id already recorded commits nothing and is acknowledged
   * without running the handler. If the handler throws, everything rolls back, the inbox row
   * included, and the bus redelivers as usual. Delivery stays at-least-once; the effect on this
   * database is once.
   */
  handle(handler: InboxHandler<Tx>): (message: Message) => Promise<void>;
  stats(): InboxStats;
  /** Deletes inbox rows older than `olderThanMs` (keep them longer than any redelivery can come). Returns how many. */
  prune(olderThanMs: number): Promise<number>;
}

/** Creates the inbox of one consumer. */
export function createInbox<Tx extends Transaction>(options: InboxOptions<Tx>): Inbox<Tx> {
  const names = schemaNames(options.schema ?? DEFAULT_SCHEMA);
  const { database, consumer } = options;
  if (
    typeof consumer !== 'string' ||
    consumer.length === 0 ||
    consumer.length > 200 ||
    consumer.includes('\u0000')
  ) {
    throw new InvalidArgumentError('consumer must be a name of 1–200 characters', {
      backend: 'outbox',
      hint: 'use the group name, e.g. createInbox({ database, consumer: "billing" })',
    });
  }
  if (typeof database?.transaction !== 'function') {
    throw new InvalidArgumentError(
      'database must be an OutboxDatabase (pgDatabase(pool) or postgresDatabase(sql))',
      {
        backend: 'outbox',
      },
    );
  }
  let processed = 0;
  let duplicates = 0;
  let failed = 0;

  return {
    handle(handler) {
      if (typeof handler !== 'function') {
        throw new InvalidArgumentError('handle(handler): handler must be a function', { backend: 'outbox' });
      }
      return async (message: Message) => {
        let threw = false;
        let first: boolean;
        try {
          first = await database.transaction(async (tx) => {
            const inserted = await runQuery(
              tx,
              `INSERT INTO ${names.inbox} (consumer, message_id, subject) VALUES ($1, $2, $3)
                ON CONFLICT DO NOTHING RETURNING 1 AS inserted`,
              [consumer, message.id, message.subject],
            ).catch((error: unknown) => {
              throw explainDatabaseError(error, names); // the inbox's own statement: explain it
            });
            if (inserted.length === 0) return false;
            try {
              await handler(message, tx);
            } catch (error) {
              threw = true;
              throw error; // the handler's own error, as it threw it
            }
            return true;
          });
        } catch (error) {
          if (threw) failed += 1;
          throw error;
        }
        if (first) processed += 1;
        else duplicates += 1;
      };
    },
    stats: () => ({ processed, duplicates, failed }),
    async prune(olderThanMs) {
      if (!(typeof olderThanMs === 'number' && olderThanMs >= 0 && olderThanMs <= 3650 * 86_400_000)) {
        throw new InvalidArgumentError('prune(olderThanMs): a number of milliseconds ≥ 0', {
          backend: 'outbox',
        });
      }
      try {
        const rows = await database.transaction((tx) =>
          runQuery(
            tx,
            `WITH gone AS (DELETE FROM ${names.inbox} WHERE consumer = $1 AND processed_at < now() - $2 * interval '1 millisecond' RETURNING 1)
             SELECT count(*)::bigint AS n FROM gone`,
            [consumer, olderThanMs],
          ),
        );
        return Number(rows[0]?.n ?? 0);
      } catch (error) {
        throw explainDatabaseError(error, names);
      }
    },
  };
}
