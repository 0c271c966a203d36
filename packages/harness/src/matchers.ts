import { activity, type BusActivity, subjectMatches } from '@omnibus/core';
import { closest, describeEntry, describeQuery, passes } from './candidates.js';
import { Harness } from './harness.js';
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
import { patternOf } from './journal.js';

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
  const pattern = patternOf(query);
  const hits = entries.filter(
    (e) =>
      subjectMatches(pattern, e.subject) &&
      passes(e, where) &&
      (outcome === undefined || (e as ConsumedEntry).outcome === outcome),
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
