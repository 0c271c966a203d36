import { defaultBackoff } from './backoff.js';
import { deadLetterHeaders, describeError } from './dead-letter.js';
import type {
  DeliverySink,
  DriverSubscription,
  InboundDelivery,
  OutgoingMessage,
  SettleInfo,
} from './driver.js';
import { InvalidArgumentError, TimeoutError } from './errors.js';
import { DeliveredMessage, type Settlement, type Settler } from './message.js';
import { runInSharedMicrotask } from './microtask.js';
import { type BusStatus, type Logger, log, settledWithin, timerMs } from './operability.js';
import { OrderedList } from './ordered-list.js';
import { RingQueue } from './ring-queue.js';
import type { StatsCounter } from './stats.js';
import { isValidSubject } from './subject.js';
import type { Capabilities, Message } from './types.js';
import type { ResolvedSubscribeOptions } from './validate.js';

/** What a subscription needs from its bus. */
export interface RuntimeContext {
  readonly backend: string;
  readonly capabilities: Readonly<Capabilities>;
  readonly stats: StatsCounter;
  readonly logger: Logger;
  /** Forwards a status event to the bus's `onStatus` (never throws). */
  reportStatus(status: BusStatus): void;
  /** Publishes a dead-lettered copy (bypasses the closed check: runs during drain too). */
  publishDeadLetter(message: OutgoingMessage): Promise<void>;
  /** Called once when the subscription has fully closed. */
  onClosed(runtime: SubscriptionRuntime): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const RESOLVED = Promise.resolve();
const ACK_SEEN: SettleInfo = Object.freeze({ reason: 'ack', handedOut: true });
const ACK_UNSEEN: SettleInfo = Object.freeze({ reason: 'ack', handedOut: false });

/** A promise, as opposed to the `void` a backend's synchronous settle returns. */
const isPromise = (value: unknown): value is Promise<unknown> =>
  value !== undefined && typeof (value as Promise<unknown>).then === 'function';

/**
 * One subscription's engine, shared by every adapter: the sink drivers push into,
 * `maxInFlight` accounting, settle logic (ack / nak / dead-letter / release),
 * the iterator, and close. Users never see this class, only its facades.
 */
export class SubscriptionRuntime implements DeliverySink, Settler {
  readonly id: string;
  readonly pattern: string;
  readonly options: ResolvedSubscribeOptions;
  readonly #ctx: RuntimeContext;
  readonly #buffer = new RingQueue<DeliveredMessage>();
  /** Handed out and not settled yet, in hand-out order (released in that order on close). */
  readonly #handedOut = new OrderedList<DeliveredMessage>();
  /** Backend settles still under way (close waits for them, bounded). */
  #settling = 0;
  #settledWaiter: (() => void) | undefined;
  #unsettled = 0;
  #state: 'open' | 'closing' | 'closed' = 'open';
  #waiter: (() => void) | undefined;
  /** The consume loop's handler runner; messages are handed to it in a batch per microtask. */
  #dispatcher: ((message: DeliveredMessage) => void) | undefined;
  #dispatchQueued = false;
  #capacityListener: (() => void) | undefined;
  #driverSubscription: DriverSubscription | undefined;
  #closing: Promise<void> | undefined;
  #drain: ((timeoutMs: number) => Promise<number>) | undefined;
  #resolveClosed!: () => void;
  #abortListener: (() => void) | undefined;
  /** One timer for every ack timeout of this subscription, armed for the oldest hand-out's deadline. */
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  #expiryWarned = false;
  #deadLetterFailing = false;
  #backoffWarned = false;
  /** Resolves when fully closed. */
  readonly closed: Promise<void>;

  constructor(id: string, pattern: string, options: ResolvedSubscribeOptions, ctx: RuntimeContext) {
    this.id = id;
    this.pattern = pattern;
    this.options = options;
    this.#ctx = ctx;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    const { signal } = options;
    if (signal) {
      this.#abortListener = () => void this.close();
      signal.addEventListener('abort', this.#abortListener, { once: true });
    }
  }

  /** The backend's name (for errors). */
  get backend(): string {
    return this.#ctx.backend;
  }

  get group(): string | undefined {
    return this.options.group;
  }

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  /**
   * Connects the driver-side subscription (after `driver.subscribe` resolved).
   * One that arrives after the subscription began to close (aborted, bus closing)
   * is stopped at once: the returned promise settles when it is.
   */
  attach(subscription: DriverSubscription): Promise<void> | undefined {
    this.#driverSubscription = subscription;
    if (this.#state === 'open') return undefined;
    return subscription.stop().catch(() => {
      this.#ctx.stats.errors++;
    });
  }

  /**
   * Turns the subscription into a consumer: every buffered message is handed to
   * `dispatch` (in delivery order, a batch per microtask) as it arrives; `drain`
   * waits for running handlers when the subscription closes.
   */
  startDispatch(
    dispatch: (message: DeliveredMessage) => void,
    drain: (timeoutMs: number) => Promise<number>,
  ): void {
    this.#dispatcher = dispatch;
    this.#drain = drain;
    this.#wake();
  }

  // ---- DeliverySink -------------------------------------------------------

  get capacity(): number {
    return this.#state === 'open' ? Math.max(0, this.options.maxInFlight - this.#unsettled) : 0;
  }

  onCapacity(listener: () => void): void {
    this.#capacityListener = listener;
  }

  reportError(_error: unknown): void {
    this.#ctx.stats.errors++;
  }

  push(delivery: InboundDelivery): void {
    const { stats } = this.#ctx;
    stats.delivered++;
    stats.inFlight++;
    if (delivery.attempt > 1) stats.redelivered++;
    this.#unsettled++;
    const message = new DeliveredMessage(delivery, this);
    if (this.#state === 'closing') {
      // arrived while the driver stops: never handed out, released in order after stop()
      this.#buffer.push(message);
      return;
    }
    if (this.#state !== 'open') {
      void this.settle(message, { kind: 'release' });
      return;
    }
    const termed = this.#termed?.get(delivery.id);
    if (termed) {
      // its dead-letter copy was refused before: try again, without handing it out
      void this.settle(message, { kind: 'term', reason: termed.reason, error: termed.error });
      return;
    }
    if (delivery.attempt > this.options.maxAttempts) {
      // redelivered past the limit (ack timeout, crash or release): dead-letter without handing it out
      void this.settle(message, {
        kind: 'term',
        reason: `maxAttempts (${this.options.maxAttempts}) exceeded`,
      });
      return;
    }
    this.#buffer.push(message);
    this.#wake();
  }

  // ---- consuming ------------------------------------------------------------

  /** Next message, or `undefined` once the subscription is closing. */
  async take(): Promise<DeliveredMessage | undefined> {
    for (;;) {
      if (this.#state !== 'open') return undefined;
      const next = this.#buffer.shift();
      if (next) return this.#handOut(next, Date.now());
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
    }
  }

  #handOut(message: DeliveredMessage, now: number): DeliveredMessage {
    message.handedOut = true;
    // hand-outs are in time order and share one ack timeout: deadlines grow along #handedOut
    message.deadline = now + this.options.ackTimeoutMs;
    this.#handedOut.add(message);
    if (this.#expiryTimer === undefined) this.#armExpiry(message.deadline, now);
    if (message.delivery.onHandOut) {
      try {
        message.delivery.onHandOut();
      } catch {
        this.#ctx.stats.errors++;
      }
    }
    return message;
  }

  #wake(): void {
    if (this.#dispatcher) {
      if (this.#dispatchQueued || this.#buffer.length === 0) return;
      this.#dispatchQueued = true;
      runInSharedMicrotask(this.#dispatchRunnable);
      return;
    }
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  readonly #dispatchRunnable = { run: () => this.#dispatch() };

  #dispatch(): void {
    this.#dispatchQueued = false;
    const dispatch = this.#dispatcher as (message: DeliveredMessage) => void;
    const buffer = this.#buffer;
    while (this.#state === 'open' && buffer.length > 0) {
      // the time of each hand-out: a synchronous handler delays the next one's
      dispatch(this.#handOut(buffer.shift() as DeliveredMessage, Date.now()));
    }
  }

  // ---- ack timeout ----------------------------------------------------------

  #armExpiry(at: number, now: number): void {
    this.#expiryTimer = setTimeout(this.#expire, Math.max(0, at - now));
    this.#expiryTimer.unref?.();
  }

  /**
   * Ack timeouts, owned by core on every backend: a handed-out message not settled
   * within `ackTimeoutMs` (manual ack forgotten, handler hung) is nakked — redelivered
   * with `attempt + 1`, or dead-lettered at `maxAttempts` — and its `maxInFlight` slot
   * is freed. A later settle of that message is ignored (it was claimed here).
   */
  readonly #expire = (): void => {
    this.#expiryTimer = undefined;
    if (this.#state !== 'open') return; // closing releases what is left
    const now = Date.now();
    for (let head = this.#handedOut.first; head; head = this.#handedOut.first) {
      if (head.deadline > now) {
        this.#armExpiry(head.deadline, now);
        return;
      }
      if (!this.#expiryWarned) {
        this.#expiryWarned = true;
        log(
          this.#ctx.logger,
          'warn',
          `[omnibus:${this.#ctx.backend}] message ${head.id} from "${head.subject}" was not settled within ackTimeoutMs (${this.options.ackTimeoutMs} ms): redelivered, and a late ack/nak of it is ignored (reported once per subscription)`,
        );
      }
      const error = new TimeoutError(`not settled within ackTimeoutMs (${this.options.ackTimeoutMs} ms)`, {
        backend: this.#ctx.backend,
      });
      // settle() takes it out of #handedOut synchronously
      void this.settle(
        head,
        head.attempt >= this.options.maxAttempts
          ? { kind: 'term', reason: `maxAttempts (${this.options.maxAttempts}) exceeded: ack timeout`, error }
          : { kind: 'nak', delayMs: 0, error },
      );
    }
  };

  /** Counts a backend settle under way until `done` settles (close waits for it). */
  #track(done: Promise<unknown>): void {
    this.#settling++;
    const finished = () => {
      if (--this.#settling === 0 && this.#settledWaiter) {
        const waiter = this.#settledWaiter;
        this.#settledWaiter = undefined;
        waiter();
      }
    };
    done.then(finished, finished);
  }

  /** Resolves once no backend settle is under way. */
  #allSettled(): Promise<void> {
    if (this.#settling === 0) return RESOLVED;
    return new Promise((resolve) => {
      const previous = this.#settledWaiter;
      this.#settledWaiter = () => {
        previous?.();
        resolve();
      };
    });
  }

  /** The async iterator behind `Subscription`; usable once. */
  #iterated = false;
  iterator(): AsyncIterator<Message> {
    if (this.#iterated)
      throw new InvalidArgumentError('a subscription can be iterated only once', {
        backend: this.#ctx.backend,
        hint: 'read it in one for await loop; for a second reader, subscribe again (with the same group to share the messages)',
      });
    this.#iterated = true;
    let current: DeliveredMessage | undefined;
    const auto = this.options.ack === 'auto';
    const settleCurrent = async () => {
      const m = current;
      current = undefined;
      if (auto && m && !m.settled) await m.ack();
    };
    return {
      next: async () => {
        await settleCurrent();
        const m = await this.take();
        if (!m) return { done: true, value: undefined };
        current = m;
        return { done: false, value: m };
      },
      return: async () => {
        await settleCurrent();
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  // ---- settling -------------------------------------------------------------

  settle(message: DeliveredMessage, settlement: Settlement): Promise<void> {
    if (!message.claim()) return RESOLVED;
    if (message.handedOut) this.#handedOut.delete(message);
    if (settlement.kind === 'ack') return this.#ack(message) ?? RESOLVED;
    const done = this.#settle(message, settlement);
    this.#track(done);
    return done;
  }

  /**
   * Acks a handled message (the consume loop's auto-ack): the hot path, with no
   * promise at all when the backend settles synchronously. Ignored when already settled.
   */
  ackQuietly(message: DeliveredMessage): void {
    if (!message.claim()) return;
    if (message.handedOut) this.#handedOut.delete(message);
    this.#ack(message);
  }

  #ack(message: DeliveredMessage): Promise<void> | undefined {
    let pending: Promise<void> | void;
    try {
      pending = message.delivery.ack(message.handedOut ? ACK_SEEN : ACK_UNSEEN);
    } catch {
      this.#settleFailed();
      return undefined;
    }
    if (!isPromise(pending)) {
      this.#ctx.stats.acked++;
      this.#settled();
      return undefined;
    }
    const done = pending.then(
      () => {
        this.#ctx.stats.acked++;
        this.#settled();
      },
      () => this.#settleFailed(),
    );
    this.#track(done);
    return done;
  }

  /** The backend refused a settle: the message is left to its ack timeout. */
  #settleFailed(): void {
    this.#ctx.stats.errors++;
    this.#ctx.stats.nakked++;
    this.#settled();
  }

  #settled(): void {
    this.#ctx.stats.inFlight--;
    this.#unsettled--;
    if (this.#state === 'open' && this.#capacityListener) {
      try {
        this.#capacityListener();
      } catch {
        this.#ctx.stats.errors++;
      }
    }
  }

  async #settle(message: DeliveredMessage, settlement: Exclude<Settlement, { kind: 'ack' }>): Promise<void> {
    const { stats } = this.#ctx;
    const delivery = message.delivery;
    const handedOut = message.handedOut;
    try {
      switch (settlement.kind) {
        case 'release':
          await delivery.nak(0, { reason: 'release', handedOut });
          stats.nakked++;
          break;
        case 'term':
          await this.#deadLetter(message, settlement.reason, settlement.error);
          break;
        case 'nak': {
          if (message.attempt >= this.options.maxAttempts) {
            await this.#deadLetter(message, `failed after ${message.attempt} attempts`, settlement.error);
            break;
          }
          const info: SettleInfo =
            settlement.error === undefined
              ? { reason: 'nak', handedOut }
              : { reason: 'handler-error', handedOut, error: settlement.error };
          let delay = settlement.delayMs;
          if (delay > 0 && !this.#ctx.capabilities.delayedNak) {
            // emulate the delay by holding the message (it keeps its in-flight slot)
            await sleep(delay);
            delay = 0;
          }
          await delivery.nak(delay, info);
          stats.nakked++;
          break;
        }
      }
    } catch {
      this.#settleFailed(); // left to the backend's ack timeout
      return;
    }
    this.#settled();
  }

  async #deadLetter(message: DeliveredMessage, reason: string, error: unknown): Promise<void> {
    const { stats } = this.#ctx;
    const delivery = message.delivery;
    const target = this.options.deadLetter(message.subject);
    const info: SettleInfo = { reason: 'dead-letter', handedOut: message.handedOut, error };
    // the hand-outs the application saw: a message dead-lettered without being handed out
    // (redelivered past the limit, or back after a refused copy) saw fewer, never more than maxAttempts
    const seen =
      this.#termed?.get(message.id)?.attempt ??
      (message.handedOut
        ? message.attempt
        : Math.max(1, Math.min(message.attempt - 1, this.options.maxAttempts)));
    // counted before the copy is published: an in-process backend may hand it to a dead-letter
    // consumer before this function resumes, and that consumer should find it counted
    stats.deadLettered++;
    try {
      if (!isValidSubject(target))
        throw new InvalidArgumentError(`dead-letter subject ${JSON.stringify(target)} is invalid`, {
          hint: "the deadLetter function must return a concrete subject (no wildcards), e.g. (subject) => 'dlq.' + subject",
        });
      await this.#ctx.publishDeadLetter({
        id: message.id,
        subject: target,
        payload: message.payload,
        headers: deadLetterHeaders({
          headers: message.headers,
          subject: message.subject,
          id: message.id,
          attempt: seen,
          group: this.options.group,
          reason,
          error,
        }),
        publishedAt: Date.now(),
        dedupe: false,
      });
    } catch (failure) {
      // never drop: keep the message and try again later, backing off
      stats.deadLettered--;
      stats.errors++;
      this.#deadLetterFailed(target, failure);
      this.#rememberTermed(message.id, { reason, error, attempt: seen });
      await delivery.nak(this.backoffDelay(message.attempt), { ...info, reason: 'handler-error' });
      stats.nakked++;
      return;
    }
    if (this.#deadLetterFailing) {
      this.#deadLetterFailing = false;
      log(
        this.#ctx.logger,
        'warn',
        `[omnibus:${this.#ctx.backend}] dead-lettering to "${target}" works again`,
      );
      this.#ctx.reportStatus({ type: 'dead_letter_restored', detail: target });
    }
    this.#termed?.delete(message.id);
    try {
      await delivery.ack(info);
    } catch {
      // the copy is stored: counted once; the original is left to the broker, which redelivers it
      // past maxAttempts, and it is dead-lettered again then (a second copy, never a loss)
      stats.errors++;
    }
    log(
      this.#ctx.logger,
      'warn',
      `[omnibus:${this.#ctx.backend}] dead-lettered message ${message.id} from "${message.subject}" to "${target}" at attempt ${message.attempt}${this.options.group ? ` (group ${this.options.group})` : ''}: ${reason}${error === undefined ? '' : ` — ${describeError(error)}`}`,
    );
  }

  /**
   * Messages whose dead-letter copy was refused, by id: when they come back (the broker counts
   * the nak as an attempt, so a `term` before `maxAttempts` would otherwise be handed out again)
   * they go straight to the dead-letter attempt. Bounded: the oldest are forgotten past 10,000.
   */
  #termed: Map<string, { reason: string; error: unknown; attempt: number }> | undefined;

  #rememberTermed(id: string, entry: { reason: string; error: unknown; attempt: number }): void {
    this.#termed ??= new Map();
    this.#termed.delete(id);
    this.#termed.set(id, entry);
    if (this.#termed.size > 10_000) this.#termed.delete(this.#termed.keys().next().value as string);
  }

  /** A dead-letter copy was refused: reported once (warn + status) until one goes through again. */
  #deadLetterFailed(target: string, failure: unknown): void {
    if (this.#deadLetterFailing) return;
    this.#deadLetterFailing = true;
    const detail = `dead-letter to "${target}" failed: ${describeError(failure)}`;
    log(
      this.#ctx.logger,
      'warn',
      `[omnibus:${this.#ctx.backend}] ${detail}. The message is kept (redelivered with backoff; not handed out again by this subscription) until "${target}" accepts it: make that subject publishable (e.g. a stream covering it when streams are only verified) or set the deadLetter option (reported once until it works again)`,
    );
    this.#ctx.reportStatus({ type: 'dead_letter_failed', detail });
  }

  /**
   * The redelivery delay after `attempt`: the `backoff` option's, or the default one when a
   * user's backoff function throws (counted in `errors`, reported once per subscription).
   */
  backoffDelay(attempt: number, onFault?: (error: unknown) => void): number {
    try {
      return this.options.backoff(attempt);
    } catch (error) {
      this.#ctx.stats.errors++;
      if (!this.#backoffWarned) {
        this.#backoffWarned = true;
        log(
          this.#ctx.logger,
          'warn',
          `[omnibus:${this.#ctx.backend}] the backoff function threw (${describeError(error)}); the default backoff is used (reported once per subscription)`,
        );
      }
      onFault?.(error);
      return defaultBackoff(attempt);
    }
  }

  // ---- closing --------------------------------------------------------------

  /** Stops intake, drains handlers (bounded), releases what is left. Idempotent. */
  close(timeoutMs = 10_000): Promise<void> {
    this.#closing ??= this.#close(timerMs(timeoutMs));
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    // one deadline for every step: close({ timeoutMs }) is bounded even with the backend frozen
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(0, deadline - Date.now());
    this.#state = 'closing';
    clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    if (this.#abortListener) this.options.signal?.removeEventListener('abort', this.#abortListener);
    this.#wake();
    if (this.#driverSubscription) {
      // a stop that outlives the deadline goes on; what it pushes later is released (state closed)
      const stopping = this.#driverSubscription.stop().catch(() => {
        this.#ctx.stats.errors++;
      });
      await settledWithin(stopping, left());
    }
    const abandoned = this.#drain ? await this.#drain(left()) : 0;
    if (abandoned > 0)
      log(
        this.#ctx.logger,
        'warn',
        `[omnibus:${this.#ctx.backend}] closing "${this.pattern}": ${abandoned} handler${abandoned === 1 ? '' : 's'} still running after ${timeoutMs} ms; their messages are released for redelivery and their results will be ignored`,
      );
    // handed-out messages came before the buffered ones: release in delivery order
    const leftovers = [...this.#handedOut.clear(), ...this.#buffer.drain()];
    for (const m of leftovers) void this.settle(m, { kind: 'release' });
    // bounded: with the backend away a settle may wait for the reconnect; what is not
    // settled in time stays unacknowledged on the broker and is redelivered later
    await settledWithin(this.#allSettled(), left());
    this.#state = 'closed';
    this.#wake();
    this.#ctx.onClosed(this);
    this.#resolveClosed();
  }
}
