import { defaultBackoff } from './backoff.js';
import { describeError } from './dead-letter.js';
import { DeadLetterer } from './dead-letterer.js';
import type {
  DeliverySink,
  DriverSubscription,
  InboundDelivery,
  OutgoingMessage,
  SettleInfo,
} from './driver.js';
import { InvalidArgumentError, TimeoutError } from './errors.js';
import { HandOuts } from './hand-outs.js';
import type { Interceptors } from './interceptors.js';
import { DeliveredMessage, type Settlement, type Settler } from './message.js';
import { runInSharedMicrotask } from './microtask.js';
import type { DeliveryOutcome, ObservedSubscription, Observers } from './observer.js';
import { type BusStatus, type Logger, log, settledWithin, timerMs } from './operability.js';
import { RingQueue } from './ring-queue.js';
import type { StatsCounter } from './stats.js';
import type { Capabilities, Message } from './types.js';
import type { ResolvedSubscribeOptions } from './validate.js';

/** What a subscription needs from its bus. */
export interface RuntimeContext {
  readonly backend: string;
  readonly capabilities: Readonly<Capabilities>;
  readonly stats: StatsCounter;
  readonly logger: Logger;
  /** The bus's listeners (`observe`): told of each delivery received, handed out and settled. */
  readonly observers: Observers;
  /** What runs around each handler (`intercept`, `interceptAll`). */
  readonly interceptors: Interceptors;
  /** Reports a status event through the bus (logged when it matters, forwarded to `onStatus`; never throws). */
  reportStatus(status: BusStatus): void;
  /** Publishes a dead-lettered copy (bypasses the closed check: runs during drain too). */
  publishDeadLetter(message: OutgoingMessage): Promise<void>;
  /** Called once when the subscription has fully closed. */
  onClosed(runtime: SubscriptionRuntime): void;
}

/** What a finished iterator yields. */
const DONE: IteratorResult<Message> = Object.freeze({ done: true, value: undefined });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const RESOLVED = Promise.resolve();
const ACK_SEEN: SettleInfo = Object.freeze({ reason: 'ack', handedOut: true });
const ACK_UNSEEN: SettleInfo = Object.freeze({ reason: 'ack', handedOut: false });
const RELEASE: Settlement = Object.freeze({ kind: 'release' });
const ACK_DROPPED: Settlement = Object.freeze({ kind: 'ack' });

/** A promise, as opposed to the `void` a backend's synchronous settle returns. */
const isPromise = (value: unknown): value is Promise<unknown> =>
  value !== undefined && typeof (value as Promise<unknown>).then === 'function';

/**
 * One subscription's engine, shared by every adapter: the sink drivers push into,
 * `maxInFlight` accounting, the one settle path (ack / nak / dead-letter / release),
 * the iterator, and close. Ack deadlines live in `HandOuts`, dead-lettering in
 * `DeadLetterer`. Users never see this class, only its facades.
 */
export class SubscriptionRuntime implements DeliverySink, Settler {
  readonly id: string;
  readonly pattern: string;
  readonly options: ResolvedSubscribeOptions;
  readonly #ctx: RuntimeContext;
  readonly #buffer = new RingQueue<DeliveredMessage>();
  /** Handed out and not settled yet, with their ack deadlines. */
  readonly #handOuts: HandOuts;
  readonly #deadLetterer: DeadLetterer;
  /** Backend settles still under way (close waits for them, bounded). */
  #backendSettles = 0;
  #backendSettlesWaiter: (() => void) | undefined;
  /** Pushed and not settled yet: what holds `maxInFlight` slots. */
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
  #expiryWarned = false;
  #backoffWarned = false;
  /** Resolves when fully closed. */
  readonly closed: Promise<void>;
  /** This subscription as observers see it. */
  readonly #observed: ObservedSubscription;

  constructor(id: string, pattern: string, options: ResolvedSubscribeOptions, ctx: RuntimeContext) {
    this.id = id;
    this.pattern = pattern;
    this.options = options;
    this.#ctx = ctx;
    this.#observed = Object.freeze({ pattern, group: options.group });
    this.#handOuts = new HandOuts(options.ackTimeoutMs, this.#expired);
    this.#deadLetterer = new DeadLetterer({
      backend: ctx.backend,
      stats: ctx.stats,
      logger: ctx.logger,
      options,
      publishDeadLetter: ctx.publishDeadLetter,
      reportStatus: ctx.reportStatus,
      backoffDelay: (attempt) => this.backoffDelay(attempt),
    });
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

  /** This subscription as observers and interceptors see it: its pattern and group. */
  get observed(): ObservedSubscription {
    return this.#observed;
  }

  /** The bus's interceptors (the consume loop runs each handler inside them). */
  get interceptors(): Interceptors {
    return this.#ctx.interceptors;
  }

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  /** What this subscription holds now, for `activity()`. */
  activity(): { buffered: number; handedOut: number; settling: number } {
    return {
      buffered: this.#buffer.length,
      handedOut: this.#handOuts.size,
      settling: this.#backendSettles,
    };
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
    if (
      this.options.atMostOnce &&
      this.#state === 'open' &&
      this.#buffer.length >= this.options.maxInFlight
    ) {
      // at most once, a subscriber that falls behind skips the oldest waiting (never the broker's problem)
      const oldest = this.#buffer.shift() as DeliveredMessage;
      stats.dropped++;
      void this.settle(oldest, ACK_DROPPED);
    }
    stats.delivered++;
    stats.inFlight++;
    if (delivery.attempt > 1) stats.redelivered++;
    this.#unsettled++;
    const message = new DeliveredMessage(delivery, this);
    if (this.#ctx.observers.wants.received)
      this.#ctx.observers.emit({
        type: 'received',
        backend: this.#ctx.backend,
        subscription: this.#observed,
        message,
      });
    if (this.#state === 'closing') {
      // arrived while the driver stops: never handed out, released in order after stop()
      this.#buffer.push(message);
      return;
    }
    if (this.#state !== 'open') {
      void this.settle(message, RELEASE);
      return;
    }
    const refused = this.#deadLetterer.refusedCopy(delivery.id);
    if (refused) {
      // its dead-letter copy was refused before: try again, without handing it out
      void this.settle(message, { kind: 'term', reason: refused.reason, error: refused.error });
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
  /**
   * The next buffered message handed out now; `undefined` when the subscription is
   * no longer open; `null` when nothing is buffered (then `take()` waits).
   */
  takeNow(): DeliveredMessage | undefined | null {
    if (this.#state !== 'open') return undefined;
    const next = this.#buffer.shift();
    return next ? this.#handOut(next, Date.now()) : null;
  }

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
    this.#handOuts.add(message, now);
    if (this.#ctx.observers.wants['handed-out'])
      this.#ctx.observers.emit({
        type: 'handed-out',
        backend: this.#ctx.backend,
        subscription: this.#observed,
        message,
      });
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
    // at most once the backend pushes without regard to capacity: at most `maxInFlight` handlers
    // run, the rest wait in the (bounded) buffer
    const limit = this.options.atMostOnce ? this.options.maxInFlight : Number.POSITIVE_INFINITY;
    while (this.#state === 'open' && buffer.length > 0 && this.#handOuts.size < limit) {
      // the time of each hand-out: a synchronous handler delays the next one's
      dispatch(this.#handOut(buffer.shift() as DeliveredMessage, Date.now()));
    }
  }

  // ---- ack timeout ----------------------------------------------------------

  /**
   * Ack timeouts, owned by core on every backend: a handed-out message not settled
   * within `ackTimeoutMs` (manual ack forgotten, handler hung) is nakked — redelivered
   * with `attempt + 1`, or dead-lettered at `maxAttempts` — and its `maxInFlight` slot
   * is freed. A later settle of that message is ignored (it was claimed here).
   */
  readonly #expired = (message: DeliveredMessage): void => {
    if (!this.#expiryWarned) {
      this.#expiryWarned = true;
      log(
        this.#ctx.logger,
        'warn',
        `[omnibus:${this.#ctx.backend}] message ${message.id} from "${message.subject}" was not settled within ackTimeoutMs (${this.options.ackTimeoutMs} ms): redelivered, and a late ack/nak of it is ignored (reported once per subscription)`,
      );
    }
    const error = new TimeoutError(`not settled within ackTimeoutMs (${this.options.ackTimeoutMs} ms)`, {
      backend: this.#ctx.backend,
    });
    // settle() takes it out of the hand-outs synchronously
    void this.settle(
      message,
      message.attempt >= this.options.maxAttempts
        ? { kind: 'term', reason: `maxAttempts (${this.options.maxAttempts}) exceeded: ack timeout`, error }
        : { kind: 'nak', delayMs: 0, error },
    );
  };

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
    // the previous message's auto ack is issued before the next is taken (settles keep their
    // order) but not awaited: it never rejects, and close() waits for settles under way
    const settleCurrent = () => {
      const m = current;
      current = undefined;
      if (auto && m && !m.settled) void m.ack();
    };
    const yielded = (m: DeliveredMessage | undefined): IteratorResult<Message> => {
      if (!m) return DONE;
      current = m;
      return { done: false, value: m };
    };
    return {
      // a buffered message costs one resolved promise, not an async function's ticks
      next: () => {
        try {
          settleCurrent();
          const ready = this.takeNow();
          return ready === null ? this.take().then(yielded) : Promise.resolve(yielded(ready));
        } catch (error) {
          return Promise.reject(error);
        }
      },
      return: async () => {
        settleCurrent();
        await this.close();
        return DONE;
      },
    };
  }

  // ---- settling: the one path ------------------------------------------------
  //
  // Every settle goes through `settle`: the application's ack / nak / term, the consume
  // loop's ack and nak, an ack timeout, a release on close. The message is claimed (any
  // later settle of it is ignored) and taken out of the hand-outs; then the backend acks it
  // (`#ack`) or gets it back or dead-letters it (`#nakOrDeadLetter`). Each ends in
  // `#slotFreed`, directly or through `#backendRefused`.

  /**
   * Settles `message` once. An ack the backend settles synchronously costs no promise (the
   * consume loop's hot path): the shared resolved one is returned.
   */
  settle(message: DeliveredMessage, settlement: Settlement): Promise<void> {
    if (!message.claim()) return RESOLVED;
    this.#handOuts.delete(message);
    if (this.options.atMostOnce && settlement.kind !== 'ack') {
      // nothing comes back at most once: a failed or released message is gone (a release of one
      // never handed out, as the subscription closes, is a skipped one)
      if (settlement.kind === 'release' && !message.handedOut) this.#ctx.stats.dropped++;
      return this.#ack(message) ?? RESOLVED;
    }
    if (settlement.kind === 'ack') return this.#ack(message) ?? RESOLVED;
    const done = this.#nakOrDeadLetter(message, settlement);
    this.#trackBackendSettle(done);
    return done;
  }

  /** Acks on the backend; a promise only when the backend settles asynchronously. */
  #ack(message: DeliveredMessage): Promise<void> | undefined {
    let pending: Promise<void> | void;
    try {
      pending = message.delivery.ack(message.handedOut ? ACK_SEEN : ACK_UNSEEN);
    } catch {
      this.#backendRefused(() => this.#settled(message, 'refused'));
      return undefined;
    }
    if (!isPromise(pending)) {
      this.#ctx.stats.acked++;
      this.#slotFreed(this.#ctx.observers.wants.settled ? () => this.#settled(message, 'acked') : undefined);
      return undefined;
    }
    const done = pending.then(
      () => {
        this.#ctx.stats.acked++;
        this.#slotFreed(
          this.#ctx.observers.wants.settled ? () => this.#settled(message, 'acked') : undefined,
        );
      },
      () => {
        this.#backendRefused(() => this.#settled(message, 'refused'));
      },
    );
    this.#trackBackendSettle(done);
    return done;
  }

  /**
   * Gives the message back to the backend for redelivery (`release`, `nak`), or
   * dead-letters it (`term`, a `nak` at the last attempt).
   */
  async #nakOrDeadLetter(
    message: DeliveredMessage,
    settlement: Exclude<Settlement, { kind: 'ack' }>,
  ): Promise<void> {
    const { stats } = this.#ctx;
    const delivery = message.delivery;
    const handedOut = message.handedOut;
    let outcome: DeliveryOutcome;
    let reason: string | undefined;
    let deadLetterSubject: string | undefined;
    try {
      switch (settlement.kind) {
        case 'release':
          await delivery.nak(0, { reason: 'release', handedOut });
          stats.nakked++;
          outcome = 'released';
          break;
        case 'term':
          reason = settlement.reason;
          deadLetterSubject = await this.#deadLetterer.deadLetter(message, reason, settlement.error);
          outcome = deadLetterSubject ? 'dead-lettered' : 'nakked';
          break;
        case 'nak': {
          if (message.attempt >= this.options.maxAttempts) {
            reason = `failed after ${message.attempt} attempts`;
            deadLetterSubject = await this.#deadLetterer.deadLetter(message, reason, settlement.error);
            outcome = deadLetterSubject ? 'dead-lettered' : 'nakked';
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
          outcome = 'nakked';
          break;
        }
      }
    } catch {
      this.#backendRefused(() => this.#settled(message, 'refused', settlement)); // left to the backend's ack timeout
      return;
    }
    this.#slotFreed(
      this.#ctx.observers.wants.settled
        ? () => this.#settled(message, outcome, settlement, reason, deadLetterSubject)
        : undefined,
    );
  }

  /** Tells observers how `message` was settled. */
  #settled(
    message: DeliveredMessage,
    outcome: DeliveryOutcome,
    settlement?: Exclude<Settlement, { kind: 'ack' }>,
    reason?: string,
    deadLetterSubject?: string,
  ): void {
    const error = settlement && 'error' in settlement ? settlement.error : undefined;
    this.#ctx.observers.emit({
      type: 'settled',
      backend: this.#ctx.backend,
      subscription: this.#observed,
      message,
      outcome,
      handedOut: message.handedOut,
      ...(error === undefined ? {} : { error }),
      ...(reason === undefined ? {} : { reason }),
      ...(deadLetterSubject === undefined ? {} : { deadLetterSubject }),
    });
  }

  /** The backend refused a settle: the message is left to its ack timeout. */
  #backendRefused(settled?: () => void): void {
    this.#ctx.stats.errors++;
    this.#ctx.stats.nakked++;
    this.#slotFreed(this.#ctx.observers.wants.settled ? settled : undefined);
  }

  /**
   * The message is settled (or given up on): its `maxInFlight` slot is free. `settled` tells the
   * observers — after the counters are right, before the next delivery takes the slot.
   */
  #slotFreed(settled?: () => void): void {
    this.#ctx.stats.inFlight--;
    this.#unsettled--;
    settled?.();
    // at most once, a freed handler slot takes the next one waiting
    if (this.options.atMostOnce && this.#dispatcher && this.#buffer.length > 0) this.#wake();
    if (this.#state === 'open' && this.#capacityListener) {
      try {
        this.#capacityListener();
      } catch {
        this.#ctx.stats.errors++;
      }
    }
  }

  /** Counts a backend settle under way until `done` settles (close waits for it). */
  #trackBackendSettle(done: Promise<unknown>): void {
    this.#backendSettles++;
    const finished = () => {
      if (--this.#backendSettles === 0 && this.#backendSettlesWaiter) {
        const waiter = this.#backendSettlesWaiter;
        this.#backendSettlesWaiter = undefined;
        waiter();
      }
    };
    done.then(finished, finished);
  }

  /** Resolves once no backend settle is under way. */
  #backendSettlesDone(): Promise<void> {
    if (this.#backendSettles === 0) return RESOLVED;
    return new Promise((resolve) => {
      const previous = this.#backendSettlesWaiter;
      this.#backendSettlesWaiter = () => {
        previous?.();
        resolve();
      };
    });
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
    this.#handOuts.stopExpiry();
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
    const leftovers = [...this.#handOuts.takeAll(), ...this.#buffer.drain()];
    for (const m of leftovers) void this.settle(m, RELEASE);
    // bounded: with the backend away a settle may wait for the reconnect; what is not
    // settled in time stays unacknowledged on the broker and is redelivered later
    await settledWithin(this.#backendSettlesDone(), left());
    this.#state = 'closed';
    this.#wake();
    this.#ctx.onClosed(this);
    this.#resolveClosed();
  }
}
