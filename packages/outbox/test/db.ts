import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate, pgDatabase } from '../src/index.js';

/** The PostgreSQL the tests use: `OMNIBUS_PG_URL`, else the local server's `test` database. */
export const PG_URL = process.env.OMNIBUS_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A pool whose idle-client errors (a database restart) are absorbed instead of crashing the test. */
export function pool(url = PG_URL, max = 10): pg.Pool {
  const p = new pg.Pool({ connectionString: url, max });
  p.on('error', () => undefined);
  return p;
}

/** A fresh schema name per test: tests never see each other's rows. */
export function freshSchema(): string {
  return `t_${randomBytes(6).toString('hex')}`;
}

/** A migrated fresh schema on `p`; `drop()` removes it. */
export async function migratedSchema(p: pg.Pool): Promise<{ schema: string; drop(): Promise<void> }> {
  const schema = freshSchema();
  await migrate(pgDatabase(p), { schema });
  return { schema, drop: async () => void (await p.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)) };
}

/** Runs `fn` between BEGIN and COMMIT on one pooled client (ROLLBACK when it throws). */
export async function inTransaction<T>(p: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return pgDatabase<pg.PoolClient>(p).transaction(fn);
}

/** Resolves when `predicate()` holds, checking every 10 ms; rejects with `what` after `timeoutMs`. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
