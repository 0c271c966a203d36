import type { OutboxDatabase } from './database.js';
import { explainDatabaseError } from './errors.js';
import { DEFAULT_SCHEMA, type SchemaNames, schemaNames } from './schema.js';
import { runQuery, type Transaction } from './sql-client.js';

/** One versioned schema change. Versions only grow; a shipped step is never edited. */
interface Migration {
  readonly version: number;
  readonly name: string;
  statements(names: SchemaNames): string[];
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'outbox and inbox tables',
    statements: (n) => [
      `CREATE TABLE ${n.outbox} (
        position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        id text NOT NULL,
        subject text NOT NULL,
        payload bytea NOT NULL,
        headers jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        published_at timestamptz
      )`,
      `CREATE INDEX outbox_unpublished ON ${n.outbox} (xid, position) WHERE published_at IS NULL`,
      `CREATE INDEX outbox_published_at ON ${n.outbox} (published_at) WHERE published_at IS NOT NULL`,
      `CREATE FUNCTION ${n.notifyFunction}() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN PERFORM pg_notify('${n.channel}', ''); RETURN NULL; END
      $fn$`,
      `CREATE TRIGGER outbox_notify AFTER INSERT ON ${n.outbox} FOR EACH STATEMENT EXECUTE FUNCTION ${n.notifyFunction}()`,
      `CREATE TABLE ${n.inbox} (
        consumer text NOT NULL,
        message_id text NOT NULL,
        subject text NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, message_id)
      )`,
      `CREATE INDEX inbox_processed_at ON ${n.inbox} (processed_at)`,
    ],
  },
  {
    version: 2,
    name: 'rows the bus refused for good are set aside',
    statements: (n) => [
      `ALTER TABLE ${n.outbox} ADD COLUMN failed_at timestamptz, ADD COLUMN error text`,
      `DROP INDEX ${n.schema}.outbox_unpublished`,
      `CREATE INDEX outbox_unpublished ON ${n.outbox} (xid, position) WHERE published_at IS NULL AND failed_at IS NULL`,
      `CREATE INDEX outbox_failed ON ${n.outbox} (failed_at) WHERE failed_at IS NOT NULL`,
    ],
  },
];

/** The schema version this release of `@omnibus/outbox` needs. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** What `migrate` did. */
export interface MigrateResult {
  /** The schema's version now. */
  readonly version: number;
  /** The steps applied by this call (empty when the schema was up to date). */
  readonly applied: readonly string[];
}

/**
 * Creates or upgrades the outbox schema (default `omnibus`): the outbox and inbox tables, their
 * indexes, the NOTIFY trigger and a table of applied versions. Idempotent and safe to run from
 * several processes at once (an advisory lock serialises them; all steps run in one
 * transaction, so a failure leaves the schema as it was). Run it at deploy time or at start-up.
 */
export async function migrate(
  database: OutboxDatabase,
  options: { schema?: string } = {},
): Promise<MigrateResult> {
  const names = schemaNames(options.schema ?? DEFAULT_SCHEMA);
  try {
    return await migrateIn(database, names);
  } catch (error) {
    throw explainDatabaseError(error, names);
  }
}

async function migrateIn(database: OutboxDatabase, names: SchemaNames): Promise<MigrateResult> {
  return database.transaction(async (tx: Transaction) => {
    await runQuery(tx, 'SELECT pg_advisory_xact_lock(hashtext($1))', [
      `omnibus-outbox-migrate:${names.schema}`,
    ]);
    await runQuery(tx, `CREATE SCHEMA IF NOT EXISTS ${names.schema}`);
    await runQuery(
      tx,
      `CREATE TABLE IF NOT EXISTS ${names.migrations} (
        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const rows = await runQuery(tx, `SELECT coalesce(max(version), 0) AS version FROM ${names.migrations}`);
    const current = Number(rows[0]?.version ?? 0);
    const applied: string[] = [];
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      for (const statement of migration.statements(names)) await runQuery(tx, statement);
      await runQuery(tx, `INSERT INTO ${names.migrations} (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      applied.push(`${migration.version}: ${migration.name}`);
    }
    return { version: Math.max(current, SCHEMA_VERSION), applied };
  });
}
