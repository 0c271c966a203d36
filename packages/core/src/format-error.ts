import { OmnibusError } from './errors.js';
import { redact } from './redact.js';

/** Options of `formatError`. */
export interface FormatErrorOptions {
  /**
   * Append the stack and the chain of causes (each redacted). Off by default:
   * a person reading a start-up failure needs the line, not the client's internals.
   */
  stack?: boolean;
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

function headline(error: unknown): string {
  if (error instanceof OmnibusError) {
    const hint = error.hint ? ` (hint: ${oneLine(error.hint)})` : '';
    return `${error.name} ${error.code}: ${oneLine(error.message)}${hint}`;
  }
  if (error instanceof Error) return `${error.name}: ${oneLine(redact(error.message))}`;
  return oneLine(redact(String(error)));
}

/**
 * Renders an error for a person: one line with the class name, the stable
 * `code`, the message and the hint, e.g.
 * `ConfigError CONFIG: [omnibus] OMNIBUS_URL: unknown scheme … (hint: …)`.
 * With `{ stack: true }` the stack and every `cause` follow on further lines.
 * Credentials are redacted throughout. Used by the example and CLI entry points;
 * pair it with an opt-in (e.g. `DEBUG=omnibus`) for the stack.
 */
export function formatError(error: unknown, options: FormatErrorOptions = {}): string {
  const line = headline(error);
  if (!options.stack) return line;
  const parts = [line];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    if (depth > 0) parts.push(`caused by: ${headline(current)}`);
    if (current instanceof Error && current.stack) {
      const frames = current.stack.split('\n').filter((l) => /^\s+at /.test(l));
      parts.push(...frames.map((f) => redact(f)));
    }
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join('\n');
}
