import { patternProblem, subjectProblem } from '@omnibus/core';
import { InvalidArgumentError } from 'commander';

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * A point in time: an ISO 8601 date or date-time (`2026-12-06`, `2026-12-06T10:00:00Z`; one
 * without a zone is UTC), epoch milliseconds (13 digits; 10 digits, epoch seconds, are refused
 * with a hint), or a duration ago (`90s`, `15m`, `2h`, `7d`, `1w`). Epoch ms.
 */
export function parseTime(text: string, now = Date.now()): number {
  const value = text.trim();
  const ago = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(value);
  if (ago) return now - Number(ago[1]) * (UNITS[ago[2] as string] as number);
  if (/^\d{10,}$/.test(value)) {
    // 10 digits is epoch seconds (until 2286): read as ms it would be a day in January 1970
    if (value.length <= 11)
      throw new InvalidArgumentError(
        `${value} looks like epoch seconds: give epoch milliseconds (${value}000) or an ISO time`,
      );
    return Number(value);
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    // a date-time without a zone is UTC, as everything the CLI and the console show (JavaScript
    // would read it in the machine's own zone)
    const zoned = /T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/.test(value) ? `${value}Z` : value;
    const ms = Date.parse(zoned);
    if (Number.isFinite(ms)) return ms;
  }
  throw new InvalidArgumentError(
    'expected an ISO time (2026-12-06T10:00:00Z), epoch milliseconds, or a duration ago (15m, 2h, 7d)',
  );
}

/** An integer in [min, max]. */
export function intIn(min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

/** A non-negative number (messages per second; 0 = unlimited). */
export function rateArg(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError('expected messages per second, a number ≥ 0 (0 = unlimited)');
  return n;
}

/** `--header k=v`, repeatable: collected into an object. */
export function headerArg(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected name=value');
  return { ...previous, [text.slice(0, eq).trim()]: text.slice(eq + 1) };
}

/** A repeatable option collected into a list. */
export function collect(text: string, previous: string[] = []): string[] {
  return [...previous, text];
}

/** A subject or pattern (`orders.>`), checked before anything connects. */
export function patternArg(text: string): string {
  const problem = patternProblem(text);
  if (problem) throw new InvalidArgumentError(`not a subject pattern: ${problem}`);
  return text;
}

/** A subject without wildcards, checked before anything connects. */
export function subjectArg(text: string): string {
  const problem = subjectProblem(text);
  if (problem) throw new InvalidArgumentError(`not a subject: ${problem}`);
  return text;
}

/** `--from`: `earliest`, `new`, or a time (see {@link parseTime}). */
export function fromArg(text: string): 'earliest' | 'new' | { time: number } {
  if (text === 'earliest' || text === 'new') return text;
  return { time: parseTime(text) };
}
