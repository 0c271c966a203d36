import { DLQ_HEADERS } from '../dead-letter.js';
import type { OutgoingMessage } from '../driver.js';
import { InvalidArgumentError } from '../errors.js';
import { timerMs } from '../operability.js';
import { assertPattern, assertSubject, subjectMatches } from '../subject.js';
import type { Headers } from '../types.js';
import { normalizeHeaders } from '../validate.js';
import type {
  DeadLetter,
  DeadLetterProgress,
  DeadLetterReport,
  DeadLetterSelection,
  DeadLetters,
  DriverManagement,
  PurgeOptions,
  RedriveOptions,
  StoredMessage,
} from './management-types.js';

/** Headers a redrive adds (the `omnibus-dlq-*` ones are dropped from the republished copy). */
export const REDRIVE_HEADERS = {
  at: 'omnibus-redriven-at',
  count: 'omnibus-redrive-count',
  reason: 'omnibus-redriven-reason',
  /** The group that dead-lettered it: every subscriber of the subject gets the copy, this says whose failure it was. */
  group: 'omnibus-redriven-group',
} as const;

/** Where dead letters are looked for unless a selection says `in`. */
export const DEFAULT_DEAD_LETTERS = 'dlq.>';
/** Removals are sent in batches of this many (each only after its republishes were acknowledged). */
const REMOVE_BATCH = 100;
const DEFAULT_LIMIT = 100;
const DEFAULT_LISTED = 100;

/** What the dead letters need from the bus: its driver's management half and a raw publish. */
export interface DeadLetterContext {
  readonly backend: string;
  readonly management: DriverManagement;
  /** Publishes through the driver (validated here), not deduplicated on the kept id. */
  publish(message: OutgoingMessage): Promise<unknown>;
  /** Throws BusClosedError once the bus is closing. */
  assertOpen(): void;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

function toMs(value: number | Date | undefined, field: string, backend: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms))
    throw new InvalidArgumentError(`${field} must be a Date or epoch milliseconds`, { backend });
  return ms;
}

/** A dead letter from a stored copy; undefined when the copy carries no `omnibus-dlq-subject`. */
export function readDeadLetter(stored: StoredMessage): DeadLetter | undefined {
  const h = stored.headers;
  const subject = h[DLQ_HEADERS.subject];
  if (!subject) return undefined;
  const at = Date.parse(h[DLQ_HEADERS.at] ?? '');
  return {
    ref: stored.ref,
    id: h[DLQ_HEADERS.id] || stored.id,
    subject,
    deadLetterSubject: stored.subject,
    group: h[DLQ_HEADERS.group] || undefined,
    reason: h[DLQ_HEADERS.reason] ?? '',
    error: h[DLQ_HEADERS.error],
    attempts: Number(h[DLQ_HEADERS.attempts]) || 0,
    at: Number.isFinite(at) ? at : stored.publishedAt,
    redriveCount: Number(h[REDRIVE_HEADERS.count]) || 0,
    headers: h,
    payload: stored.payload,
  };
}

/** The headers of a redriven copy: the original ones, no `omnibus-dlq-*`, and the audit trail. */
export function redriveHeaders(dl: DeadLetter, now: number): Headers {
  const out: Headers = {};
  const dlqNames = new Set<string>(Object.values(DLQ_HEADERS));
  for (const [name, value] of Object.entries(dl.headers)) if (!dlqNames.has(name)) out[name] = value;
  out[REDRIVE_HEADERS.at] = new Date(now).toISOString();
  out[REDRIVE_HEADERS.count] = String(dl.redriveCount + 1);
  out[REDRIVE_HEADERS.reason] = dl.reason;
  if (dl.group !== undefined) out[REDRIVE_HEADERS.group] = dl.group;
  else delete out[REDRIVE_HEADERS.group]; // a second redrive of a message no group dead-lettered
  return out;
}

/**
 * The redrive copy's headers when `dl` can be republished to `subject` as `publish` would accept
 * it (a subject, not a pattern; valid headers), or the error saying why not.
 */
function republishable(dl: DeadLetter, subject: string): Headers | Error {
  try {
    assertSubject(subject);
    return normalizeHeaders(redriveHeaders(dl, 0));
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** A validated selection as a predicate, and the dead-letter pattern to browse. */
function compile(selection: DeadLetterSelection, backend: string) {
  const where = selection.in ?? DEFAULT_DEAD_LETTERS;
  assertPattern(where, backend);
  if (selection.subject !== undefined) assertPattern(selection.subject, backend);
  if (selection.group !== undefined && typeof selection.group !== 'string')
    throw new InvalidArgumentError('group must be a string', { backend });
  const { error } = selection;
  if (error !== undefined && typeof error !== 'string' && !(error instanceof RegExp))
    throw new InvalidArgumentError('error must be a string or a RegExp', { backend });
  const since = toMs(selection.since, 'since', backend);
  const until = toMs(selection.until, 'until', backend);
  const refs = selection.refs === undefined ? undefined : new Set(selection.refs);
  const needle = typeof error === 'string' ? error.toLowerCase() : undefined;
  // without `g` and `y`: a stateful RegExp would start each test where the last match ended
  const pattern =
    error instanceof RegExp && /[gy]/.test(error.flags)
      ? new RegExp(error.source, error.flags.replace(/[gy]/g, ''))
      : (error as RegExp | undefined);
  const matches = (dl: DeadLetter): boolean => {
    if (refs && !refs.has(dl.ref)) return false;
    if (selection.subject !== undefined && !subjectMatches(selection.subject, dl.subject)) return false;
    if (selection.group !== undefined && (dl.group ?? '') !== selection.group) return false;
    if (since !== undefined && dl.at < since) return false;
    if (until !== undefined && dl.at >= until) return false;
    if (error !== undefined) {
      const text = `${dl.error ?? ''}\n${dl.reason}`;
      if (needle !== undefined ? !text.toLowerCase().includes(needle) : !(pattern as RegExp).test(text))
        return false;
    }
    return true;
  };
  return { where, matches };
}

/** The order `list` pages in: oldest dead-lettering first, then by reference. */
function byTimeThenRef(a: { at: number; ref: string }, b: { at: number; ref: string }): number {
  return a.at - b.at || (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0);
}

const CURSOR = /^dl1:(-?\d+):(.*)$/s;

/** A page's `next`: the last item's place in the order (its time and reference), not just its reference. */
function cursorOf(dl: DeadLetter): string {
  return `dl1:${Math.trunc(dl.at)}:${dl.ref}`;
}

/**
 * Where the page after `after` starts in `all` (sorted by {@link byTimeThenRef}). A cursor keeps
 * its place when its dead letter is gone meanwhile (redriven, purged): the page starts at the
 * first one after that place, never past the end. A plain reference (a ref from `list`) is
 * looked up; one that is gone is an error rather than an empty page.
 */
function startAfter(all: readonly DeadLetter[], after: string, backend: string): number {
  if (typeof after !== 'string' || after === '')
    throw new InvalidArgumentError('after must be the `next` of the previous page', { backend });
  const exact = all.findIndex((dl) => dl.ref === after);
  if (exact !== -1) return exact + 1;
  const cursor = CURSOR.exec(after);
  if (!cursor)
    throw new InvalidArgumentError(`no dead letter ${JSON.stringify(after)} here (redriven or purged?)`, {
      backend,
      hint: 'page with the `next` a page returned: it keeps its place when that dead letter is gone',
    });
  const place = { at: Number(cursor[1]), ref: cursor[2] as string };
  const i = all.findIndex((dl) => byTimeThenRef(dl, place) > 0);
  return i === -1 ? all.length : i;
}

/** Dead letters built on a driver's `browse` and `remove`, the same on every backend. */
export function createDeadLetters(ctx: DeadLetterContext): DeadLetters {
  const { backend, management } = ctx;

  async function* select(selection: DeadLetterSelection, signal?: AbortSignal): AsyncGenerator<DeadLetter> {
    const { where, matches } = compile(selection, backend);
    for await (const stored of management.browse(where, signal ? { signal } : {})) {
      if (signal?.aborted) return;
      const dl = readDeadLetter(stored);
      if (dl && matches(dl)) yield dl;
    }
  }

  async function run(
    kind: 'redrive' | 'purge',
    selection: DeadLetterSelection,
    options: RedriveOptions & PurgeOptions,
  ): Promise<DeadLetterReport> {
    ctx.assertOpen();
    const started = Date.now();
    const dryRun = options.dryRun === true;
    const rate = options.rate ?? 0;
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0)
      throw new InvalidArgumentError('rate must be a number of messages per second, 0 for unlimited', {
        backend,
      });
    if (options.to !== undefined) assertSubject(options.to, backend);
    const maxListed = options.maxListed ?? DEFAULT_LISTED;
    const { signal } = options;
    const listed: DeadLetter[] = [];
    const skippedListed: { ref: string; subject: string; reason: string }[] = [];
    const refs: string[] = [];
    let selected = 0;
    let done = 0;
    let skipped = 0;
    let toRemove: string[] = [];
    const progress = (): DeadLetterProgress => ({ selected, done, skipped, pendingRemoval: toRemove.length });
    const flush = async () => {
      if (toRemove.length === 0) return;
      const refs = toRemove;
      await management.remove(refs);
      toRemove = [];
      if (kind === 'purge') done += refs.length;
    };
    try {
      for await (const dl of select(selection, signal)) {
        selected++;
        if (listed.length < maxListed) listed.push(dl);
        if (dryRun) refs.push(dl.ref);
        const copy = kind === 'redrive' ? republishable(dl, options.to ?? dl.subject) : undefined;
        if (copy instanceof Error) {
          // a copy that would be refused (a stored subject or header no publish accepts): left
          // where it is, and said so, rather than published where no subscriber can ever be
          skipped++;
          if (skippedListed.length < maxListed)
            skippedListed.push({ ref: dl.ref, subject: dl.subject, reason: copy.message });
        } else if (!dryRun) {
          if (kind === 'redrive') {
            if (rate > 0) {
              // behind schedule (a slow republish): no wait — never a negative timer (Node warns);
              // a very low rate waits in steps a timer can hold (a longer one would fire at once)
              const due = started + (done * 1000) / rate;
              for (let wait = due - Date.now(); wait > 0 && !signal?.aborted; wait = due - Date.now())
                await sleep(timerMs(wait), signal);
            }
            if (signal?.aborted) {
              selected--;
              break;
            }
            ctx.assertOpen();
            const now = Date.now();
            await ctx.publish({
              id: dl.id,
              subject: options.to ?? dl.subject,
              payload: dl.payload,
              headers: redriveHeaders(dl, now), // checked by republishable() (only the time differs)
              publishedAt: now,
              dedupe: false,
            });
            done++;
          }
          // removed only once republished (redrive); a stop before the flush leaves both copies
          toRemove.push(dl.ref);
          if (toRemove.length >= REMOVE_BATCH) await flush();
        }
        options.onProgress?.(progress());
      }
      await flush();
    } finally {
      // whatever was republished is removed even when the loop ends early (best effort: a
      // failure here leaves those messages dead-lettered as well as republished, never lost)
      await flush().catch(() => undefined);
    }
    return {
      selected,
      done,
      skipped,
      pendingRemoval: toRemove.length,
      dryRun,
      stopped: signal?.aborted === true,
      listed,
      skippedListed,
      ...(dryRun ? { refs } : {}),
      elapsedMs: Date.now() - started,
    };
  }

  return {
    async list(selection = {}) {
      ctx.assertOpen();
      const limit = selection.limit ?? DEFAULT_LIMIT;
      if (!Number.isInteger(limit) || limit < 1)
        throw new InvalidArgumentError('limit must be a positive integer', { backend });
      // a stable order whatever order the backend browses in (Kafka interleaves partitions):
      // oldest dead-lettering first, then by reference, so that `after` pages through exactly once
      const all: DeadLetter[] = [];
      for await (const dl of select(selection)) all.push(dl);
      all.sort(byTimeThenRef);
      const start = selection.after === undefined ? 0 : startAfter(all, selection.after, backend);
      const items = all.slice(start, start + limit);
      const more = start + limit < all.length;
      return more ? { items, next: cursorOf(items[items.length - 1] as DeadLetter) } : { items };
    },

    async show(ref, options = {}) {
      if (typeof ref !== 'string' || ref === '')
        throw new InvalidArgumentError('ref must be a non-empty string', { backend });
      for await (const dl of select({ ...(options.in ? { in: options.in } : {}), refs: [ref] })) return dl;
      return undefined;
    },

    redrive(selection = {}, options = {}) {
      return run('redrive', selection, options);
    },

    purge(selection = {}, options = {}) {
      return run('purge', selection, options);
    },
  };
}
