import { subjectMatches } from '@omnibus/core';
import { preview } from './decode.js';
import type { Entry, Where } from './journal.js';
import { differences } from './where.js';

/** How many candidates a failure message lists. */
const SHOWN = 8;

/** Whether `entry` passes `where` (a partial payload or a predicate). A throwing predicate does not match. */
export function passes<E extends Entry>(entry: E, where: Where<unknown, E> | undefined): boolean {
  if (where === undefined) return true;
  if (typeof where === 'function') {
    try {
      return (where as (payload: unknown, entry: E) => boolean)(entry.payload, entry) === true;
    } catch {
      return false;
    }
  }
  return differences(entry.payload, where, '', 1).length === 0;
}

/** The entries that match the subject pattern and `where`, oldest first. */
export function matching<E extends Entry>(
  entries: readonly E[],
  pattern: string,
  where?: Where<unknown, E>,
): E[] {
  return entries.filter((e) => subjectMatches(pattern, e.subject) && passes(e, where));
}

/** One line about an entry, for failure messages. */
export function describeEntry(entry: Entry): string {
  const base = `${entry.subject} ${preview(entry.payload, 80)}`;
  switch (entry.kind) {
    case 'published':
      return base;
    case 'consumed':
      return `${base} (attempt ${entry.attempt}, ${entry.outcome}${entry.error === undefined ? '' : `: ${errorText(entry.error)}`})`;
    case 'dead-lettered':
      return `${base} (attempt ${entry.attempt}: ${entry.reason})`;
  }
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return preview(error, 80);
}

/**
 * The closest candidates to what was asked for, for a failure message: entries on a matching
 * subject first (with what differs in their payload), then the others; at most eight.
 */
export function closest(
  entries: readonly Entry[],
  pattern: string,
  where: Where<unknown, Entry> | undefined,
): string {
  if (entries.length === 0) return '  (none)';
  const ranked = entries.map((entry, index) => {
    const onSubject = subjectMatches(pattern, entry.subject);
    const diff =
      where === undefined || typeof where === 'function' ? [] : differences(entry.payload, where, '', 3);
    const note = !onSubject
      ? 'subject does not match'
      : typeof where === 'function'
        ? 'the predicate returned false'
        : diff.join('; ');
    return { entry, index, score: (onSubject ? 0 : 1000) + diff.length, note };
  });
  ranked.sort((a, b) => a.score - b.score || b.index - a.index);
  const lines = ranked
    .slice(0, SHOWN)
    .map((r) => `  ${describeEntry(r.entry)}${r.note ? ` — ${r.note}` : ''}`);
  if (ranked.length > SHOWN) lines.push(`  … and ${ranked.length - SHOWN} more`);
  return lines.join('\n');
}

/** The query in words: `"orders.*.created" where {"orderId":"o-2"}`. */
export function describeQuery(pattern: string, where: unknown): string {
  if (where === undefined) return `"${pattern}"`;
  if (typeof where === 'function') return `"${pattern}" passing the predicate`;
  return `"${pattern}" where ${preview(where, 100)}`;
}
