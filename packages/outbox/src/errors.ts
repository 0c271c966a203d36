import { ConfigError, ConnectionError, InvalidArgumentError, OmnibusError, redact } from '@omnibus/core';
import type { SchemaNames } from './schema.js';

/** PostgreSQL error codes the outbox explains. */
const UNDEFINED_TABLE = '42P01';
const UNDEFINED_FUNCTION = '42883';
const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * Turns a database error the outbox can explain into a typed one: a lost or unreachable database
 * into a `ConnectionError`; a refused login, a missing privilege, or a schema that is not there
 * (run `migrate()`) into a `ConfigError`. Anything else — a statement PostgreSQL refused for its
 * own reasons — is returned as it is (the caller rethrows it), with PostgreSQL's `code`.
 */
export function explainDatabaseError(error: unknown, names: SchemaNames): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof OmnibusError) return error;
  if (isConnectionError(error)) {
    return new ConnectionError(`PostgreSQL is not reachable: ${describe(error)}`, {
      backend: 'outbox',
      cause: error,
      hint: 'check that the database is up and the connection string is right; the relay retries by itself',
    });
  }
  if (typeof code === 'string' && code.startsWith('28')) {
    return new ConfigError('database', `PostgreSQL refused the login: ${describe(error)}`, {
      backend: 'outbox',
      cause: error,
      hint: 'check the user and password of the connection (and pg_hba.conf on the server)',
    });
  }
  if (code === INSUFFICIENT_PRIVILEGE) {
    return new ConfigError('database', `the database role lacks a privilege: ${describe(error)}`, {
      backend: 'outbox',
      cause: error,
      hint: 'grant the role what the outbox needs on its schema (migrate() creates it: CREATE on the database; the relay: SELECT, UPDATE, DELETE on its tables)',
    });
  }
  if (code === UNDEFINED_TABLE || code === UNDEFINED_FUNCTION) {
    return new ConfigError('schema', `the outbox tables of schema ${names.schema} do not exist`, {
      backend: 'outbox',
      cause: error,
      hint: `run migrate(database${names.schema === '"omnibus"' ? '' : `, { schema: ${names.schema.replaceAll('"', "'")} }`}) once before using the outbox`,
    });
  }
  return error;
}

/** Node's socket errors and PostgreSQL's connection-class SQLSTATEs (08…, 57P01–57P03). */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') {
    const message = String((error as Error | null)?.message ?? '');
    // pg-pool's "timeout exceeded when trying to connect" has no code either
    return /Connection terminated|connection (?:is )?(?:closed|ended)|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(
      message,
    );
  }
  return (
    /^(?:ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EPIPE|EHOSTUNREACH|CONNECT_TIMEOUT|CONNECTION_(?:CLOSED|ENDED|DESTROYED))$/.test(
      code,
    ) ||
    code.startsWith('08') ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03'
  );
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * PostgreSQL text and jsonb store neither U+0000 nor a lone UTF-16 surrogate (a half of an emoji
 * cut in two): refuse them before anything is written, so the caller's transaction stays usable.
 */
export function assertStorableText(value: string, what: string): void {
  if (value.includes('\u0000')) {
    throw new InvalidArgumentError(`${what} contains U+0000, which PostgreSQL text cannot store`, {
      backend: 'outbox',
      hint: 'remove the NUL character (or carry binary data in the payload, which is stored as bytea)',
    });
  }
  if (LONE_SURROGATE.test(value)) {
    throw new InvalidArgumentError(`${what} contains a lone UTF-16 surrogate (half of a character)`, {
      backend: 'outbox',
      hint: 'the string was cut inside a character (e.g. an emoji): fix it with value.toWellFormed()',
    });
  }
}

/** A short, credential-free description of an error for logs and status events. */
export function describe(error: unknown): string {
  return redact(String((error as OmnibusError | Error | null)?.message ?? error));
}
