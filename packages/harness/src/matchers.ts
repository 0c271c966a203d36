import { activity, type BusActivity, InvalidArgumentError, subjectMatches } from '@omnibus/core';
import { closest, describeEntry, describeQuery, passes } from './candidates.js';
import { checkQuery, Harness } from './harness.js';
import type {
  ConsumedEntry,
  ConsumedOutcome,
  DeadLetteredEntry,
  Entry,
  PayloadOf,
  PublishedEntry,
  Query,
  Where,
} from './journal.js';

/** What jest and vitest give a matcher as `this` (the part used here). */
interface MatcherContext {
  readonly isNot?: boolean;
}

/** What a matcher returns to jest and vitest. */
export interface MatcherResult {
  pass: boolean;
  message(): string;
}

/** Options of `toHaveConsumed`. */
export interface ConsumedMatcherOptions {
  /** Only deliveries that ended this way. */
  outcome?: ConsumedOutcome;
}

function check(
  _context: MatcherContext,
  received: unknown,
  name: string,
  kind: Entry['kind'],
  query: Query,
  where: Where<unknown, Entry> | undefined,
  outcome?: ConsumedOutcome,
): MatcherResult {
  if (!(received instanceof Harness) && !isHarnessLike(received))
    return {
      pass: false,
      message: () => `${name} expects a harness from createHarness(bus), got ${typeof received}`,
    };
  const journal = (received as Harness).journal;
  const entries: readonly Entry[] =
    kind === 'published' ? journal.published : kind === 'consumed' ? journal.consumed : journal.deadLettered;
  // an invalid pattern matches nothing: `.not` would pass whatever happened (the waits refuse it too)
  const pattern = checkQuery(query, (received as { bus?: { backend?: string } }).bus?.backend ?? 'harness');
  let asked = 0;
  let failures = 0;
  let firstFailure: unknown;
  const fits = (e: Entry): boolean => {
    if (typeof where !== 'function') return passes(e, where);
    asked++;
    try {
      return (where as (payload: unknown, entry: Entry) => unknown)(e.payload, e) === true;
    } catch (error) {
      failures++;
      firstFailure ??= error;
      return false;
    }
  };
  const hits = entries.filter(
    (e) =>
      subjectMatches(pattern, e.subject) &&
      fits(e) &&
      (outcome === undefined || (e as ConsumedEntry).outcome === outcome),
  );
  // a predicate that threw for every message it was asked about is a bug in the test (a typo in
  // a property path), not "no match": `.not` would pass whatever happened
  if (hits.length === 0 && asked > 0 && failures === asked)
    throw new InvalidArgumentError(
      `${name}: the where predicate threw for every message on ${pattern} (${asked}): ${String((firstFailure as Error)?.message ?? firstFailure)}`,
      {
        hint: 'fix the predicate (a property path that does not exist?), or guard it: (p) => p.order?.id === 1',
      },
    );
  const what = `${describeQuery(pattern, where)}${outcome === undefined ? '' : ` with outcome ${outcome}`}`;
  const verb = kind === 'dead-lettered' ? 'dead-lettered' : kind;
  if (hits.length > 0)
    return {
      pass: true,
      message: () =>
        `expected the harness not to have ${verb} ${what}, but it did (${hits.length}):\n${hits
          .slice(0, 8)
          .map((e) => `  ${describeEntry(e)}`)
          .join('\n')}`,
    };
  return {
    pass: false,
    message: () =>
      `expected the harness to have ${verb} ${what}; ${verb} (${entries.length}, closest first):\n${closest(entries, pattern, where)}${stillWorking(received as Harness)}`,
  };
}

/** What a failed matcher adds when the bus had not settled: a matcher does not wait. */
function stillWorking(harness: Harness): string {
  let now: BusActivity;
  try {
    now = activity(harness.bus);
  } catch {
    return '';
  }
  const scheduled = harness.scheduledNote?.();
  if (scheduled) return `\n(${scheduled})`;
  const busy =
    now.publishing + now.buffered + now.handedOut + now.settling + (now.queued ?? 0) + (now.dueRetries ?? 0);
  return busy > 0
    ? '\n(the bus is still working and a matcher does not wait: await harness.idle() or a harness query first)'
    : '';
}

function isHarnessLike(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === 'object' &&
    'journal' in value &&
    typeof (value as { idle?: unknown }).idle === 'function'
  );
}

/**
 * The harness matchers, for `expect.extend` in jest or vitest (or import `@omnibus/harness/vitest`
 * or `@omnibus/harness/jest`, which do that and add the types). They check the journals as they
 * are: wait first (`await harness.idle()` or a query).
 */
export const harnessMatchers = {
  /** Passes when a message on `query` (pattern or typed event) passing `where` was published. */
  toHavePublished(this: MatcherContext, received: unknown, query: Query, where?: unknown): MatcherResult {
    return check(this, received, 'toHavePublished', 'published', query, where as Where<unknown, Entry>);
  },
  /** Passes when a delivery on `query` passing `where` (and ending with `options.outcome`) was recorded. */
  toHaveConsumed(
    this: MatcherContext,
    received: unknown,
    query: Query,
    where?: unknown,
    options?: ConsumedMatcherOptions,
  ): MatcherResult {
    return check(
      this,
      received,
      'toHaveConsumed',
      'consumed',
      query,
      where as Where<unknown, Entry>,
      options?.outcome,
    );
  },
  /** Passes when a message on `query` (its original subject) passing `where` was dead-lettered. */
  toHaveDeadLettered(this: MatcherContext, received: unknown, query: Query, where?: unknown): MatcherResult {
    return check(
      this,
      received,
      'toHaveDeadLettered',
      'dead-lettered',
      query,
      where as Where<unknown, Entry>,
    );
  },
};

/** The matchers' types, for a runner's `Matchers` interface (`R` is what a matcher returns there). */
export interface HarnessMatchers<R = unknown> {
  toHavePublished<Q extends Query>(query: Q, where?: Where<PayloadOf<Q>, PublishedEntry<PayloadOf<Q>>>): R;
  toHaveConsumed<Q extends Query>(
    query: Q,
    where?: Where<PayloadOf<Q>, ConsumedEntry<PayloadOf<Q>>>,
    options?: ConsumedMatcherOptions,
  ): R;
  toHaveDeadLettered<Q extends Query>(
    query: Q,
    where?: Where<PayloadOf<Q>, DeadLetteredEntry<PayloadOf<Q>>>,
  ): R;
}
