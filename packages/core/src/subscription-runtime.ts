import { deadLetterHeaders, describeError } from './dead-letter.js';
import type {
  DeliverySink,
  DriverSubscription,
  InboundDelivery,
  OutgoingMessage,
  SettleInfo,
} from './driver.js';
import { InvalidArgumentError } from './errors.js';
import { DeliveredMessage, type Settlement, type Settler } from './message.js';
import { type Logger, log, settledWithin } from './operability.js';
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
  /** Publishes a dead-lettered copy (bypasses the closed check: runs during drain too). */
  publishDeadLetter(message: OutgoingMessage): Promise<void>;
  /** Called once when the subscription has fully closed. */
  onClosed(runtime: SubscriptionRuntime): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
  readonly #buffer: DeliveredMessage[] = [];
  readonly #handedOut = new Set<DeliveredMessage>();
  readonly #settling = new Set<Promise<void>>();
  #unsettled = 0;
  #state: 'open' | 'closing' | 'closed' = 'open';
  #waiter: (() => void) | undefined;
  #capacityListener: (() => void) | undefined;
  #driverSubscription: DriverSubscription | undefined;
  #closing: Promise<void> | undefined;
  #drain: ((timeoutMs: number) => Promise<void>) | undefined;
  #resolveClosed!: () => void;
  #abortListener: (() => void) | undefined;
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

  get group(): string | undefined {
    return this.options.group;
  }

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  /** Connects the driver-side subscription (after `driver.subscribe` resolved). */
  attach(subscription: DriverSubscription): void {
    this.#driverSubscription = subscription;
    if (this.#state !== 'open') {
      // closed (aborted, bus closing) while the driver was still subscribing
      subscription.stop().catch(() => {
        this.#ctx.stats.errors++;
      });
    }
  }

  /** Installs the consume loop's drain (waits for running handlers). */
  setDrain(drain: (timeoutMs: number) => Promise<void>): void {
    this.#drain = drain;
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
      if (next) {
        next.handedOut = true;
        this.#handedOut.add(next);
        next.delivery.onHandOut?.();
        return next;
      }
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
    }
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  #track(p: Promise<void>): void {
    this.#settling.add(p);
    void p.finally(() => this.#settling.delete(p));
  }

  /** The async iterator behind `Subscription`; usable once. */
  #iterated = false;
  iterator(): AsyncIterator<Message> {
    if (this.#iterated)
      throw new InvalidArgumentError('a subscription can be iterated only once', {
        backend: this.#ctx.backend,
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
    if (!message.claim()) return Promise.resolve();
    this.#handedOut.delete(message);
    const done = this.#settle(message, settlement);
    this.#track(done);
    return done;
  }

  async #settle(message: DeliveredMessage, settlement: Settlement): Promise<void> {
    const { stats } = this.#ctx;
    const delivery = message.delivery;
    const handedOut = message.handedOut;
    try {
      switch (settlement.kind) {
        case 'ack':
          await delivery.ack({ reason: 'ack', handedOut });
          stats.acked++;
          break;
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
      stats.errors++;
      stats.nakked++; // left to the backend's ack timeout
    } finally {
      stats.inFlight--;
      this.#unsettled--;
      if (this.#state === 'open') this.#capacityListener?.();
    }
  }

  async #deadLetter(message: DeliveredMessage, reason: string, error: unknown): Promise<void> {
    const { stats } = this.#ctx;
    const delivery = message.delivery;
    const target = this.options.deadLetter(message.subject);
    const info: SettleInfo = { reason: 'dead-letter', handedOut: message.handedOut, error };
    try {
      if (!isValidSubject(target))
        throw new InvalidArgumentError(`dead-letter subject ${JSON.stringify(target)} is invalid`);
      await this.#ctx.publishDeadLetter({
        id: message.id,
        subject: target,
        payload: message.payload,
        headers: deadLetterHeaders({
          headers: message.headers,
          subject: message.subject,
          id: message.id,
          attempt: message.attempt,
          group: this.options.group,
          reason,
          error,
        }),
        publishedAt: Date.now(),
        dedupe: false,
      });
    } catch {
      // never drop: keep the message and try again later
      stats.errors++;
      await delivery.nak(this.options.backoff(message.attempt), { ...info, reason: 'handler-error' });
      stats.nakked++;
      return;
    }
    await delivery.ack(info);
    stats.deadLettered++;
    log(
      this.#ctx.logger,
      'warn',
      `[omnibus:${this.#ctx.backend}] dead-lettered message ${message.id} from "${message.subject}" to "${target}" at attempt ${message.attempt}${this.options.group ? ` (group ${this.options.group})` : ''}: ${reason}${error === undefined ? '' : ` — ${describeError(error)}`}`,
    );
  }

  // ---- closing --------------------------------------------------------------

  /** Stops intake, drains handlers (bounded), releases what is left. Idempotent. */
  close(timeoutMs = 10_000): Promise<void> {
    this.#closing ??= this.#close(timeoutMs);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#state = 'closing';
    if (this.#abortListener) this.options.signal?.removeEventListener('abort', this.#abortListener);
    this.#wake();
    try {
      await this.#driverSubscription?.stop();
    } catch {
      this.#ctx.stats.errors++;
    }
    if (this.#drain) await this.#drain(timeoutMs);
    // handed-out messages came before the buffered ones: release in delivery order
    const leftovers = [...this.#handedOut, ...this.#buffer.splice(0)];
    for (const m of leftovers) void this.settle(m, { kind: 'release' });
    // bounded: with the backend away a settle may wait for the reconnect; what is not
    // settled in time stays unacknowledged on the broker and is redelivered later
    await settledWithin(Promise.all([...this.#settling]), Math.max(timeoutMs, 1_000));
    this.#state = 'closed';
    this.#wake();
    this.#ctx.onClosed(this);
    this.#resolveClosed();
  }
}
