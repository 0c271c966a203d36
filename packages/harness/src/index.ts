export type { ConsumedWaitOptions, HarnessOptions, IdleOptions, Journals, WaitOptions } from './harness.js';
export { createHarness, Harness } from './harness.js';
export type {
  ConsumedEntry,
  ConsumedOutcome,
  DeadLetteredEntry,
  Entry,
  JournalEntry,
  PartialPayload,
  PayloadOf,
  PublishedEntry,
  Query,
  Where,
} from './journal.js';
export type { ConsumedMatcherOptions, HarnessMatchers, MatcherResult } from './matchers.js';
export { harnessMatchers } from './matchers.js';
