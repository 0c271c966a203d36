import { OmnibusError } from '@omnibus/core';
import type { Row, SqlClient, Transaction } from './sql-client.js';

/** `name` as a quoted SQL identifier (a `"` doubled). */
function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The transaction was rolled back at COMMIT: a statement in it had failed (and the error was
 * caught), so PostgreSQL discarded everything. Nothing it wrote was stored.
 */
export class TransactionRolledBackError extends OmnibusError {
  constructor() {
    super('ROLLED_BACK', 'the transaction was rolled back at COMMIT: a statement in it had failed', {
      backend: 'outbox',
      hint: 'a failed statement aborts the whole transaction; use a SAVEPOINT around a statement that may fail',
    });
  }
}

/**
 * A PostgreSQL connection source for the relay and the inbox: transactions on one connection,
 * and (optionally) LISTEN. `pgDatabase(pool)` and `postgresDatabase(sql)` make one from the two
 * common clients; any object with these methods works.
 */
export interface OutboxDatabase<Tx extends Transaction = Transaction> {
  /** Runs `fn` in a transaction: COMMIT when it resolves, ROLLBACK when it throws (and rethrows). */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Calls `onNotify` on each NOTIFY on `channel` until the returned function is called; `onError`
   * when the listening connection breaks (the relay listens again later). Without `listen` the
   * relay only polls.
   */
  listen?(
    channel: string,
    onNotify: () => void,
    onError: (error: unknown) => void,
  ): Promise<() => Promise<void>>;
}

/** The part of a `pg` Pool the adapter uses (typed here: `pg` stays the caller's dependency). */
export interface PgPoolLike {
  connect(): Promise<unknown>;
}

/** The part of a `pg` PoolClient the adapter uses. */
export interface PgPoolClientLike extends SqlClient {
  query(text: string, params?: readonly unknown[]): Promise<{ rows: Row[] }>;
  release(destroy?: boolean | Error): void;
  on(event: 'notification', listener: (message: { channel: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

/**
 * An `OutboxDatabase` on a `pg` Pool: each transaction takes a client from the pool (BEGIN …
 * COMMIT/ROLLBACK; a client whose connection failed is destroyed, not reused), and `listen` holds
 * one client for LISTEN. Handlers get the `PoolClient` their transaction runs on; name its type
 * for the full client API in them: `pgDatabase<pg.PoolClient>(pool)`.
 */
export function pgDatabase<C extends SqlClient = PgPoolClientLike>(pool: PgPoolLike): OutboxDatabase<C> {
  return {
    async transaction(fn) {
      const pooled = await pool.connect();
      const client = pooled as unknown as PgPoolClientLike;
      let broken: Error | undefined;
      const onError = (error: Error) => {
        broken = error;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(pooled as unknown as C);
        const commit = (await client.query('COMMIT')) as { command?: string };
        // a statement failed inside (and was caught): PostgreSQL answers COMMIT with a ROLLBACK
        if (commit.command === 'ROLLBACK') throw new TransactionRolledBackError();
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = rollbackError as Error;
        }
        throw error;
      } finally {
        client.removeAllListeners('error');
        client.release(broken ?? false);
      }
    },
    async listen(channel, onNotify, onError) {
      const client = (await pool.connect()) as unknown as PgPoolClientLike;
      let released = false;
      const release = (destroy: boolean) => {
        if (released) return;
        released = true;
        client.removeAllListeners('notification');
        client.removeAllListeners('error');
        client.release(destroy);
      };
      client.on('notification', (message) => {
        if (message.channel === channel) onNotify();
      });
      client.on('error', (error) => {
        release(true);
        onError(error);
      });
      try {
        await client.query(`LISTEN ${quoteIdentifier(channel)}`);
      } catch (error) {
        release(true);
        throw error;
      }
      return async () => {
        if (released) return;
        try {
          await client.query(`UNLISTEN ${quoteIdentifier(channel)}`);
        } catch {
          // the connection is gone: destroying it below is all there is to do
        }
        release(true);
      };
    },
  };
}

/** The part of a postgres.js `sql` the adapter uses. */
export interface PostgresJsSqlLike {
  begin<T>(fn: (tx: PostgresJsTransactionLike) => Promise<T>): Promise<T>;
  listen(channel: string, onNotify: (payload: string) => void): Promise<{ unlisten(): Promise<void> }>;
}

/** A postgres.js transaction as the adapter sees it. */
export interface PostgresJsTransactionLike {
  unsafe(text: string, params?: unknown[]): PromiseLike<Row[]>;
}

/**
 * An `OutboxDatabase` on a postgres.js `sql`: transactions with `sql.begin`, LISTEN with
 * `sql.listen` (postgres.js listens again by itself after a reconnect). Handlers get the
 * transaction's `sql`; name its type to use the tagged template in them:
 * `postgresDatabase<postgres.TransactionSql>(sql)`.
 */
export function postgresDatabase<Tx extends PostgresJsTransactionLike = PostgresJsTransactionLike>(
  sql: PostgresJsSqlLike,
): OutboxDatabase<Tx> {
  return {
    transaction: <T>(fn: (tx: Tx) => Promise<T>) => sql.begin((tx) => fn(tx as Tx)),
    async listen(channel, onNotify) {
      const listener = await sql.listen(channel, () => onNotify());
      return () => listener.unlisten();
    },
  };
}
