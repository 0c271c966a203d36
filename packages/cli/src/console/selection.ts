// The page's dead-letter filters, read from a query string (the list) or a JSON body (a redrive or
// purge), checked before anything runs: a bad filter is a 400 with one clear line, never half a purge.
import type { DeadLetterSelection } from '@omnibus/core';
import { assertPattern, InvalidArgumentError } from '@omnibus/core';
import { parseTime } from '../parse.js';

/** References a selection may name at most. */
const MAX_REFS = 10_000;

type Source = Record<string, unknown>;

function text(source: Source, name: string, max = 1_024): string | undefined {
  const value = source[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new InvalidArgumentError(`${name} must be text`);
  const trimmed = value.trim();
  if (trimmed.length > max) throw new InvalidArgumentError(`${name} is longer than ${max} characters`);
  return trimmed === '' ? undefined : trimmed;
}

function time(source: Source, name: string): number | undefined {
  const value = source[name];
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  const t = text(source, name, 64);
  if (t === undefined) return undefined;
  try {
    return parseTime(t);
  } catch (error) {
    // the CLI's parser speaks commander's error; the API answers with the bus's own
    throw new InvalidArgumentError(`${name}: ${(error as Error).message}`);
  }
}

const FILTERS = new Set(['in', 'subject', 'group', 'error', 'since', 'until', 'refs']);

/** A selection from the page's filters: `in`, `subject`, `group`, `error`, `since`, `until`, `refs`. */
export function readSelection(source: Source): DeadLetterSelection {
  const refs = source.refs;
  if (refs !== undefined && refs !== null) {
    if (!Array.isArray(refs) || refs.some((r) => typeof r !== 'string' || r.length > 1_024))
      throw new InvalidArgumentError('refs must be a list of dead-letter references');
    if (refs.length === 0) throw new InvalidArgumentError('refs is empty: select at least one dead letter');
    if (refs.length > MAX_REFS)
      throw new InvalidArgumentError(`refs names more than ${MAX_REFS} dead letters`);
  }
  const picked = {
    in: text(source, 'in'),
    subject: text(source, 'subject'),
    group: text(source, 'group', 256),
    error: text(source, 'error'),
    since: time(source, 'since'),
    until: time(source, 'until'),
    refs: refs as string[] | undefined,
  };
  if (picked.since !== undefined && picked.until !== undefined && picked.since >= picked.until)
    throw new InvalidArgumentError('since must be before until');
  if (picked.in !== undefined) assertPattern(picked.in);
  if (picked.subject !== undefined) assertPattern(picked.subject);
  return Object.fromEntries(Object.entries(picked).filter(([, v]) => v !== undefined)) as DeadLetterSelection;
}

/** A whole number in [min, max] from a query value or a JSON field, `fallback` when absent. */
export function numberIn(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}`);
  return n;
}

/** A redrive's or purge's body, checked whole: a typo or a wrong type is a 400, never "everything". */
export interface JobBody {
  readonly selection: DeadLetterSelection;
  readonly dryRun: boolean;
  readonly rate?: unknown;
  readonly confirm?: boolean;
}

function flag(body: Source, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`${name} must be true or false`);
  return value;
}

/**
 * `{ selection, dryRun?, all? }` plus the `extra` fields of the operation. An empty selection
 * (no filter, no refs) needs `all: true`: every dead letter is never selected by omission.
 */
export function readJobBody(body: Source, extra: readonly string[]): JobBody {
  for (const key of Object.keys(body))
    if (!['selection', 'dryRun', 'all', ...extra].includes(key))
      throw new InvalidArgumentError(`unknown field "${key.slice(0, 40)}"`);
  const raw = body.selection ?? {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new InvalidArgumentError('selection must be an object of filters or refs');
  for (const key of Object.keys(raw))
    if (!FILTERS.has(key)) throw new InvalidArgumentError(`unknown filter "${key.slice(0, 40)}"`);
  const selection = readSelection(raw as Source);
  const all = flag(body, 'all') === true;
  if (Object.keys(selection).every((k) => k === 'in') && !all)
    throw new InvalidArgumentError('select dead letters: filters or refs, or all: true for every one');
  const confirm = extra.includes('confirm') ? flag(body, 'confirm') : undefined;
  return {
    selection,
    dryRun: flag(body, 'dryRun') === true,
    ...(extra.includes('rate') ? { rate: body.rate } : {}),
    ...(confirm === undefined ? {} : { confirm }),
  };
}
