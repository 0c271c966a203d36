import {
  activity,
  type BusActivity,
  type BusEvent,
  describeError,
  type EventBus,
  InvalidArgumentError,
  isValidPattern,
  MAX_TIMER_MS,
  observe,
  subjectMatches,
  TimeoutError,
} from '@omnibus/core';
import { closest, describeQuery, matching, passes } from './candidates.js';
import { decodePayload } from './decode.js';
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
import { realDelay, realNow, realTimer, timersFakedAtLoad } from './real-clock.js';

/** Options of `createHarness`. */
export interface HarnessOptions {
  /** How long a wait (`published`, `consumed`, `deadLettered`, `idle`) lasts before it rejects (default 2,000 ms, real time). */
  timeoutMs?: number;
  /**
   * On a backend that cannot say what it still holds (a real broker), `idle()` also waits until
   * nothing happened for this long (default 100 ms). Unused on the memory bus, which can say.
   */
  quietMs?: number;
  /**
   * Under fake timers: how `idle()` moves the fake clock to the next redelivery that is due,
   * e.g. `(ms) => vi.advanceTimersByTimeAsync(ms)` or `(ms) => jest.advanceTimersByTimeAsync(ms)`.
   * Without it, `idle()` never moves time.
   */
  advanceTimers?: (ms: number) => unknown;
}

/** Options of a waiting query. */
export interface WaitOptions<T, E> {
  /** A partial payload every key of which must match, or a predicate. */
  where?: Where<T, E>;
  /** Overrides the harness's `timeoutMs` for this wait. */
  timeoutMs?: number;
}

/** Options of `consumed`: a wait that can also ask for an outcome. */
export interface ConsumedWaitOptions<T> extends WaitOptions<T, ConsumedEntry<T>> {
  /** Only deliveries that ended this way (e.g. `'acked'`, `'retried'`). */
  outcome?: ConsumedOutcome;
}

/** Options of `idle()`. */
export interface IdleOptions {
  /** Overrides the harness's `timeoutMs`. */
  timeoutMs?: number;
  /**
   * Also wait for redeliveries scheduled later (backoff, delayed naks): with `advanceTimers`
   * the fake clock is moved to each in turn, so "retried 3 times, then dead-lettered" settles
   * in milliseconds. Default `false`: a redelivery not due yet is not work under way.
   */
  includeScheduled?: boolean;
}

/** The journals, oldest entry first. */
export interface Journals {
  readonly published: readonly PublishedEntry[];
  readonly consumed: readonly ConsumedEntry[];
  readonly deadLettered: readonly DeadLetteredEntry[];
}

type Kind = Entry['kind'];
interface Waiter {
  readonly kind: Kind;
  readonly test: (entry: Entry) => boolean;
  readonly resolve: (entry: Entry) => void;
}

const NOUN: Record<Kind, string> = {
  published: 'published',
  consumed: 'consumed',
  'dead-lettered': 'dead-lettered',
};

/**
 * A test harness around a bus: it journals every publish, every delivery with its outcome and
 * every dead letter, answers waiting queries with a bounded timeout, and tells when the bus has
 * settled. Build it before the code under test runs; `stop()` (or `using`) ends the recording.
 */
export class Harness implements Disposable {
  /** The bus under test. */
  readonly bus: EventBus;
  readonly #timeoutMs: number;
  readonly #quietMs: number;
  readonly #advance: ((ms: number) => unknown) | undefined;
  #published: PublishedEntry[] = [];
  #consumed: ConsumedEntry[] = [];
  #deadLettered: DeadLetteredEntry[] = [];
  readonly #waiters = new Set<Waiter>();
  /** Wakes `idle()` when anything happens. */
  #onEvent: (() => void) | undefined;
  #lastEventAt = realNow();
  readonly #stopObserving: () => void;

  constructor(bus: EventBus, options: HarnessOptions = {}) {
    const { timeoutMs = 2_000, quietMs = 100, advanceTimers } = options;
    checkMs('timeoutMs', timeoutMs);
    checkMs('quietMs', quietMs);
    if (advanceTimers !== undefined && typeof advanceTimers !== 'function')
      throw new InvalidArgumentError('advanceTimers must be a function', {
        hint: 'e.g. createHarness(bus, { advanceTimers: (ms) => vi.advanceTimersByTimeAsync(ms) })',
      });
    if (timersFakedAtLoad())
      throw new InvalidArgumentError(
        'the timers were already faked when @omnibus/harness loaded: its waits could never end',
        {
          hint: 'import @omnibus/harness before faking timers (vi.useFakeTimers() in the test, not in setupFiles; jest: not fakeTimers.enableGlobally), then pass advanceTimers to createHarness',
        },
      );
    this.bus = bus;
    this.#timeoutMs = timeoutMs;
    this.#quietMs = quietMs;
    this.#advance = advanceTimers;
    this.#stopObserving = observe(bus, this.#record);
  }

  /** Everything recorded so far (copies: later events do not change them). */
  get journal(): Journals {
    return {
      published: [...this.#published],
      consumed: [...this.#consumed],
      deadLettered: [...this.#deadLettered],
    };
  }

  /** Forgets everything recorded so far (what happens next is still recorded). */
  clear(): void {
    this.#published = [];
    this.#consumed = [];
    this.#deadLettered = [];
  }

  /** Stops recording. The journals stay readable. */
  stop(): void {
    this.#stopObserving();
  }

  [Symbol.dispose](): void {
    this.stop();
  }

  /**
   * The first published message on `query` (a pattern or a typed event) passing `where`:
   * at once when already published, else as soon as it is. Rejects with a `TimeoutError` that
   * lists what was published instead, closest first.
   */
  published<Q extends Query, T = unknown>(
    query: Q,
    options?: WaitOptions<PayloadOf<Q, T>, PublishedEntry<PayloadOf<Q, T>>>,
  ): Promise<PublishedEntry<PayloadOf<Q, T>>> {
    return this.#wait('published', query, options) as Promise<PublishedEntry<PayloadOf<Q, T>>>;
  }

  /** The first delivery on `query` passing `where` (and ending with `outcome`, when given); see `published`. */
  consumed<Q extends Query, T = unknown>(
    query: Q,
    options?: ConsumedWaitOptions<PayloadOf<Q, T>>,
  ): Promise<ConsumedEntry<PayloadOf<Q, T>>> {
    const outcome = options?.outcome;
    return this.#wait(
      'consumed',
      query,
      options,
      outcome === undefined ? undefined : (e) => (e as ConsumedEntry).outcome === outcome,
      outcome === undefined ? '' : ` with outcome ${outcome}`,
    ) as Promise<ConsumedEntry<PayloadOf<Q, T>>>;
  }

  /** The first dead letter of a message on `query` (its original subject) passing `where`; see `published`. */
  deadLettered<Q extends Query, T = unknown>(
    query: Q,
    options?: WaitOptions<PayloadOf<Q, T>, DeadLetteredEntry<PayloadOf<Q, T>>>,
  ): Promise<DeadLetteredEntry<PayloadOf<Q, T>>> {
    return this.#wait('dead-lettered', query, options) as Promise<DeadLetteredEntry<PayloadOf<Q, T>>>;
  }

  /**
   * Resolves once the bus has settled: no publish under way, no delivery waiting for a slot,
   * held by the application or being settled, and (on the memory bus) nothing queued for a
   * subscriber and no redelivery due. With `includeScheduled`, redeliveries due later are
   * waited for too (and reached by `advanceTimers` under fake timers). On a real broker, where
   * the backend's queues cannot be seen from here, it also waits for `quietMs` without events.
   * Rejects with a `TimeoutError` that says what is still under way.
   */
  async idle(options: IdleOptions = {}): Promise<void> {
    const timeoutMs = checkMs('timeoutMs', options.timeoutMs ?? this.#timeoutMs);
    const deadline = realNow() + timeoutMs;
    for (;;) {
      if (realNow() > deadline) throw this.#idleTimeout(timeoutMs, activity(this.bus), options);
      const now = activity(this.bus);
      const busy = describeBusy(now, options.includeScheduled === true);
      if (busy.length === 0) {
        // let what was queued behind the last step run (microtasks, a macrotask) and look again
        const seen = this.#lastEventAt;
        await realDelay(0);
        const again = activity(this.bus);
        if (
          describeBusy(again, options.includeScheduled === true).length === 0 &&
          this.#lastEventAt === seen
        ) {
          if (again.queued !== undefined) return; // the backend says what it holds: nothing
          const quietFor = realNow() - this.#lastEventAt;
          if (quietFor >= this.#quietMs) return;
          if (realNow() + (this.#quietMs - quietFor) > deadline)
            throw this.#idleTimeout(timeoutMs, again, options);
          await realDelay(this.#quietMs - quietFor);
        }
        continue;
      }
      if (realNow() > deadline) throw this.#idleTimeout(timeoutMs, now, options);
      if (this.#advance && (await this.#advanceIfOnlyTime(now, options.includeScheduled === true))) continue;
      await this.#nextEvent(Math.min(10, Math.max(0, deadline - realNow())));
    }
  }

  /** Moves the fake clock when only time stands between the bus and idle; true when it did. */
  async #advanceIfOnlyTime(now: BusActivity, includeScheduled: boolean): Promise<boolean> {
    const advance = this.#advance as (ms: number) => unknown;
    const others = now.publishing + now.buffered + now.handedOut + now.settling + (now.queued ?? 0);
    if (others > 0) return false;
    if ((now.dueRetries ?? 0) > 0) {
      // a due redelivery waits for a (fake) macrotask, which a fake clock queues 1 ms ahead when
      // it was set during a tick (@sinonjs/fake-timers)
      await advance(1);
      return true;
    }
    if (includeScheduled && (now.scheduledRetries ?? 0) > 0 && now.nextRetryAt !== undefined) {
      await advance(Math.max(0, now.nextRetryAt - Date.now()));
      return true;
    }
    return false;
  }

  #idleTimeout(timeoutMs: number, now: BusActivity, options: IdleOptions): TimeoutError {
    const busy = describeBusy(now, options.includeScheduled === true);
    const what = busy.length > 0 ? busy.join(', ') : `events within the last ${this.#quietMs} ms (quietMs)`;
    let hint =
      'a handler still runs (one waiting for a timer needs the timers advanced under fake timers) or a message is held unsettled (manual ack), or the code under test keeps publishing';
    if ((now.dueRetries ?? 0) > 0 && !this.#advance)
      hint =
        'a redelivery is due but waits for a timer: under fake timers pass advanceTimers to createHarness (e.g. (ms) => vi.advanceTimersByTimeAsync(ms))';
    else if ((now.scheduledRetries ?? 0) > 0 && options.includeScheduled)
      hint = this.#advance
        ? 'a redelivery is scheduled later and the clock did not reach it in time: raise timeoutMs'
        : 'a redelivery is scheduled later than the timeout (backoff): pass advanceTimers to createHarness to move fake timers to it, or shorten the backoff in tests';
    return harnessTimeout(
      `the bus did not become idle within ${timeoutMs} ms: ${what}`,
      this.bus.backend,
      hint,
    );
  }

  /** What a wait that found nothing should say about redeliveries still scheduled (backoff). */
  scheduledNote(): string | undefined {
    const scheduled = activity(this.bus).scheduledRetries ?? 0;
    if (scheduled === 0) return undefined;
    return `${scheduled} redelivery(ies) are scheduled later (backoff): wait for them with await harness.idle({ includeScheduled: true })${this.#advance ? '' : ' (under fake timers, pass advanceTimers to createHarness)'}`;
  }

  #nextEvent(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = realTimer(ms, done);
      this.#onEvent = done;
      function done() {
        cancel();
        resolve();
      }
    });
  }

  #wait(
    kind: Kind,
    query: Query,
    options: { readonly where?: unknown; readonly timeoutMs?: number } | undefined,
    extra?: (entry: Entry) => boolean,
    extraText = '',
  ): Promise<Entry> {
    const pattern = checkQuery(query, this.bus.backend);
    const where = options?.where as Where<unknown, Entry> | undefined;
    const timeoutMs = checkMs('timeoutMs', options?.timeoutMs ?? this.#timeoutMs);
    const test = (e: Entry) =>
      e.kind === kind && subjectMatches(pattern, e.subject) && passes(e, where) && (extra?.(e) ?? true);
    const found = this.#entries(kind).find(test);
    if (found) return Promise.resolve(found);
    return new Promise<Entry>((resolve, reject) => {
      const waiter: Waiter = {
        kind,
        test,
        resolve: (entry) => {
          cancel();
          this.#waiters.delete(waiter);
          resolve(entry);
        },
      };
      this.#waiters.add(waiter);
      const cancel = realTimer(timeoutMs, () => {
        this.#waiters.delete(waiter);
        const entries = this.#entries(kind);
        const hint =
          this.scheduledNote() ??
          (matching(entries, pattern).length > 0
            ? 'messages on that subject were seen: check the where filter (and the outcome)'
            : 'nothing on that subject: check the subject, that the code under test ran, and that a subscription was live before the publish');
        reject(
          harnessTimeout(
            `nothing ${NOUN[kind]} on ${describeQuery(pattern, where)}${extraText} within ${timeoutMs} ms; ${NOUN[kind]} instead (${entries.length}, closest first):\n${closest(entries, pattern, where)}`,
            this.bus.backend,
            hint,
          ),
        );
      });
    });
  }

  #entries(kind: Kind): readonly Entry[] {
    return kind === 'published' ? this.#published : kind === 'consumed' ? this.#consumed : this.#deadLettered;
  }

  readonly #record = (event: BusEvent): void => {
    this.#lastEventAt = realNow();
    const entry = toEntry(event);
    if (entry) {
      if (entry.kind === 'published') this.#published.push(entry);
      else if (entry.kind === 'consumed') this.#consumed.push(entry);
      else this.#deadLettered.push(entry);
      if (entry.kind === 'consumed' && event.type === 'settled' && event.outcome === 'dead-lettered') {
        const dead = toDeadLetter(event);
        this.#deadLettered.push(dead);
        this.#notify(dead);
      }
      this.#notify(entry);
    }
    const wake = this.#onEvent;
    this.#onEvent = undefined;
    wake?.();
  };

  #notify(entry: Entry): void {
    for (const waiter of this.#waiters)
      if (waiter.kind === entry.kind && waiter.test(entry)) waiter.resolve(entry);
  }
}

/**
 * A `TimeoutError` whose message ends with its hint: test runners print the message and the
 * stack, not the error's other fields.
 */
function harnessTimeout(message: string, backend: string, hint: string): TimeoutError {
  return new TimeoutError(`${message}\nhint: ${hint}`, { backend, hint });
}

/** A wait in ms: a number from 0 to what a timer can hold; returns it. */
function checkMs(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TIMER_MS)
    throw new InvalidArgumentError(
      `${name} must be a number of milliseconds from 0 to ${MAX_TIMER_MS.toLocaleString('en')}, got ${String(value)}`,
    );
  return value;
}

/** The pattern of a query (a subject, a pattern or a typed event); an `InvalidArgumentError` when it is none. */
export function checkQuery(query: Query, backend: string): string {
  const pattern =
    typeof query === 'string'
      ? query
      : query !== null &&
          typeof query === 'object' &&
          typeof (query as { subject?: unknown }).subject === 'string'
        ? patternOf(query)
        : undefined;
  if (pattern === undefined || !isValidPattern(pattern))
    throw new InvalidArgumentError(`not a subject, pattern or typed event: ${String(pattern ?? query)}`, {
      backend,
      hint: "pass a subject or pattern such as 'orders.*.created' or 'orders.>', or an event from defineEvent",
    });
  return pattern;
}

/** What is still under way, in words; empty when nothing is. */
function describeBusy(a: BusActivity, includeScheduled: boolean): string[] {
  const out: string[] = [];
  const add = (n: number | undefined, what: string) => {
    if (n && n > 0) out.push(`${n} ${what}`);
  };
  add(a.publishing, 'publish(es) under way');
  add(a.buffered, 'delivery(ies) waiting for a maxInFlight slot');
  add(a.handedOut, 'message(s) handed out and not settled');
  add(a.settling, 'settle(s) under way');
  add(a.queued, 'message(s) queued for a subscriber');
  add(a.dueRetries, 'redelivery(ies) due');
  if (includeScheduled) add(a.scheduledRetries, 'redelivery(ies) scheduled');
  return out;
}

function base(message: {
  id: string;
  subject: string;
  payload: Uint8Array;
  headers: Readonly<Record<string, string>>;
  publishedAt: Date;
}) {
  return {
    subject: message.subject,
    id: message.id,
    headers: message.headers,
    payload: decodePayload(message.payload),
    bytes: message.payload,
    publishedAt: message.publishedAt,
    at: new Date(),
  };
}

const OUTCOME: Record<string, ConsumedOutcome> = {
  acked: 'acked',
  nakked: 'retried',
  'dead-lettered': 'dead-lettered',
  released: 'released',
  refused: 'refused',
};

function toEntry(event: BusEvent): PublishedEntry | ConsumedEntry | undefined {
  if (event.type === 'published')
    return { kind: 'published', ...base(event.message), receipt: event.receipt };
  if (event.type !== 'settled') return undefined;
  return {
    kind: 'consumed',
    ...base(event.message),
    attempt: event.message.attempt,
    outcome: OUTCOME[event.outcome] as ConsumedOutcome,
    ...(event.error === undefined ? {} : { error: event.error }),
    pattern: event.subscription.pattern,
    group: event.subscription.group,
    handedOut: event.handedOut,
  };
}

function toDeadLetter(event: Extract<BusEvent, { type: 'settled' }>): DeadLetteredEntry {
  return {
    kind: 'dead-lettered',
    ...base(event.message),
    attempt: event.message.attempt,
    reason: event.reason === undefined ? '' : describeError(event.reason), // as the copy's header has it
    ...(event.error === undefined ? {} : { error: event.error }),
    deadLetterSubject: event.deadLetterSubject ?? '',
    pattern: event.subscription.pattern,
    group: event.subscription.group,
  };
}

/**
 * Starts recording what happens on `bus` — a memory bus in unit tests, or a bus on a real
 * broker in integration tests.
 *
 * ```ts
 * const bus = createMemoryBus();
 * const harness = createHarness(bus);
 * await startBilling(bus);                       // the code under test
 * await bus.publish('orders.eu.created', JSON.stringify({ orderId: 'o-1' }));
 * const charged = await harness.published('billing.charged', { where: { orderId: 'o-1' } });
 * await harness.idle();
 * ```
 */
export function createHarness(bus: EventBus, options?: HarnessOptions): Harness {
  return new Harness(bus, options);
}
