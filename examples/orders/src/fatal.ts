import { formatError } from '@omnibus/core';

/** True when `DEBUG` asks for Omnibus details (`DEBUG=omnibus`, `DEBUG=omnibus:*`, `DEBUG=*`). */
export function debugEnabled(env: Record<string, string | undefined> = process.env): boolean {
  return (env.DEBUG ?? '')
    .split(/[\s,]+/)
    .some((name) => name === '*' || name === 'omnibus' || name.startsWith('omnibus:'));
}

/**
 * What an entry point prints when it fails: one line — class, code, message
 * and hint, credentials redacted — or, with `DEBUG=omnibus`, the stack and
 * the causes as well.
 */
export function fatalMessage(error: unknown, env: Record<string, string | undefined> = process.env): string {
  return formatError(error, { stack: debugEnabled(env) });
}
