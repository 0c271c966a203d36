import { ConfigError, InvalidArgumentError, type OmnibusError, redact } from '@omnibus/core';
import type { SchemaNames } from './schema.js';

/** PostgreSQL error codes the outbox explains. */
const UNDEFINED_TABLE = '42P01';
const UNDEFINED_FUNCTION = '42883';

/**
 * Turns a database error that means "the schema is not there" into a `ConfigError` that says
 * to run `migrate()`; anything else is returned as it is (the caller rethrows it).
 */
export function explainDatabaseError(error: unknown, names: SchemaNames): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === UNDEFINED_TABLE || code === UNDEFINED_FUNCTION) {
    return new ConfigError('schema', `the outbox tables of schema ${names.schema} do not exist`, {
      backend: 'outbox',
      cause: error,
      hint: `run migrate(database${names.schema === '"omnibus"' ? '' : `, { schema: ${names.schema.replaceAll('"', "'")} }`}) once before using the outbox`,
    });
  }
  return error;
}

/** PostgreSQL text and jsonb cannot hold U+0000: refuse it before anything is written. */
export function assertNoNul(value: string, what: string): void {
  if (value.includes('\u0000')) {
    throw new InvalidArgumentError(`${what} contains U+0000, which PostgreSQL text cannot store`, {
      backend: 'outbox',
      hint: 'remove the NUL character (or carry binary data in the payload, which is stored as bytea)',
    });
  }
}

/** A short, credential-free description of an error for logs and status events. */
export function describe(error: unknown): string {
  return redact(String((error as OmnibusError | Error | null)?.message ?? error));
}
