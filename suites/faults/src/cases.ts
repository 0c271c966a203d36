// Table rows of the bad-input and security checks: one row per case, with what
// was expected and what happened.
import { OmnibusError } from '@omnibus/core';

/** One row of the bad-input or security table (reports/faults.json, docs/reliability.md). */
export interface CaseRow {
  backend: string;
  case: string;
  expected: string;
  observed: string;
  passed: boolean;
}

/** An error as the table shows it: `InvalidSubjectError (INVALID_SUBJECT)`. */
export function errorName(error: unknown): string {
  if (error instanceof OmnibusError) return `${error.constructor.name} (${error.code})`;
  if (error instanceof Error) return `untyped ${error.constructor.name}: ${error.message.slice(0, 80)}`;
  return `non-error ${String(error).slice(0, 80)}`;
}

/** How long `action` took to settle, and its error (undefined when it resolved) or value. */
export async function attempt<T>(
  action: () => Promise<T>,
): Promise<{ ms: number; error: unknown; value: T | undefined; failed: boolean }> {
  const started = Date.now();
  try {
    const value = await action();
    return { ms: Date.now() - started, error: undefined, value, failed: false };
  } catch (error) {
    return { ms: Date.now() - started, error, value: undefined, failed: true };
  }
}

/** Whether `error` is the Omnibus error `type` (by `instanceof`) with `code`. */
export function isTyped(
  error: unknown,
  type: abstract new (...args: never[]) => OmnibusError,
  code: string,
): boolean {
  return error instanceof type && error.code === code;
}
