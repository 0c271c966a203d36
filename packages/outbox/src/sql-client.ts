import { InvalidArgumentError } from '@omnibus/core';

/** A row as the database returns it: column name → value. */
export type Row = Record<string, unknown>;

/**
 * The one thing Omnibus needs from a PostgreSQL client: run a statement with `$1, $2…`
 * parameters on the connection the caller's transaction runs on, and return its rows. Accepted
 * wherever a transaction is asked for: a `pg` client between `BEGIN` and `COMMIT`, the `sql` a
 * postgres.js `sql.begin` callback gets, or any object with this `query` (Kysely:
 * `(text, params) => trx.executeQuery(CompiledQuery.raw(text, [...(params ?? [])]))`). A `pg` Pool
 * or a postgres.js root `sql` is refused: each statement would commit on its own.
 */
export interface SqlClient {
  query(text: string, params?: readonly unknown[]): Promise<{ rows: Row[] } | Row[]>;
}

/** A postgres.js `sql` or transaction: a tagged-template function with `unsafe(text, params)`. */
interface PostgresJsLike {
  unsafe(text: string, params?: unknown[]): PromiseLike<Row[]>;
}

/** What `outbox.publish` and the inbox accept as "the caller's transaction". */
export type Transaction = SqlClient | PostgresJsLike;

/** Runs one statement on `tx` (a `pg` client, a postgres.js transaction or a `SqlClient`) and returns its rows. */
export async function runQuery(
  tx: Transaction,
  text: string,
  params: readonly unknown[] = [],
): Promise<Row[]> {
  if (tx !== null && (typeof tx === 'object' || typeof tx === 'function')) {
    const like = tx as unknown as Record<string, unknown>;
    // a postgres.js root `sql` (it has `end`; a transaction's has `savepoint` instead), or a `pg` Pool
    const postgresJsRoot =
      typeof like.unsafe === 'function' &&
      typeof like.savepoint !== 'function' &&
      typeof like.end === 'function';
    const pgPool = typeof like.totalCount === 'number' && typeof like.connect === 'function';
    if (postgresJsRoot || pgPool) {
      throw new InvalidArgumentError(
        'expected a transaction, got a connection pool: each statement would commit on its own',
        {
          backend: 'outbox',
          hint: 'pass the client of your transaction: the PoolClient between BEGIN and COMMIT, or the sql that sql.begin(async (sql) => …) gives you',
        },
      );
    }
    if (typeof (tx as PostgresJsLike).unsafe === 'function') {
      return [...(await (tx as PostgresJsLike).unsafe(text, params as unknown[]))];
    }
    if (typeof (tx as SqlClient).query === 'function') {
      const result = await (tx as SqlClient).query(text, params);
      return Array.isArray(result) ? result : result.rows;
    }
  }
  throw new InvalidArgumentError(
    'expected a transaction: a pg client, a postgres.js transaction or { query(text, params) }',
    {
      backend: 'outbox',
      hint: 'pass the client your transaction runs on, e.g. outbox.publish(client, subject, payload) between BEGIN and COMMIT',
    },
  );
}
