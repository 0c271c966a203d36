import { InvalidArgumentError } from '@omnibus/core';

/** The default schema of the outbox tables (`omnibus.outbox`, `omnibus.inbox`, …). */
export const DEFAULT_SCHEMA = 'omnibus';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,47}$/;

/**
 * The quoted names Omnibus writes into SQL for one schema. The schema name is checked against
 * a strict pattern (lower-case letters, digits, `_`; at most 48 characters) so no caller input
 * ever reaches SQL as text.
 */
export interface SchemaNames {
  readonly schema: string;
  readonly outbox: string;
  readonly inbox: string;
  readonly migrations: string;
  readonly notifyFunction: string;
  /** The LISTEN/NOTIFY channel (unquoted, for `pg_notify`) and its quoted form (for `LISTEN`). */
  readonly channel: string;
  readonly channelIdentifier: string;
}

/** Validates a schema name and returns the names derived from it. */
export function schemaNames(schema: string = DEFAULT_SCHEMA): SchemaNames {
  if (
    typeof schema !== 'string' ||
    !IDENTIFIER.test(schema) ||
    schema.startsWith('pg_') ||
    schema === 'information_schema'
  ) {
    throw new InvalidArgumentError(`invalid schema name ${JSON.stringify(String(schema).slice(0, 80))}`, {
      backend: 'outbox',
      hint: 'use lower-case letters, digits and _ (starting with a letter or _), at most 48 characters, not pg_… (reserved by PostgreSQL)',
    });
  }
  const q = `"${schema}"`;
  const channel = `omnibus_outbox_${schema}`;
  return {
    schema: q,
    outbox: `${q}.outbox`,
    inbox: `${q}.inbox`,
    migrations: `${q}.omnibus_migrations`,
    notifyFunction: `${q}.omnibus_outbox_notify`,
    channel,
    channelIdentifier: `"${channel}"`,
  };
}
