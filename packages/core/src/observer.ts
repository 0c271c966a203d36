import { InvalidArgumentError } from './errors.js';
import { addGlobal, globalList, OwnAndGlobal } from './global-registry.js';
import type { BusInterceptor, Interceptors } from './interceptors.js';
import type { Headers, Message, PublishReceipt } from './types.js';

/** The subscription an event happened on: its pattern and group (`undefined` when ungrouped). */
export interface ObservedSubscription {
  readonly pattern: string;
  readonly group: string | undefined;
}

/** A message the application published, as the backend accepted it. */
export interface ObservedPublish {
  readonly id: string;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly headers: Readonly<Headers>;
  readonly publishedAt: Date;
}

/**
 * How a delivery ended: `acked`; `nakked` (given back for redelivery: a handler error, a manual
 * nak or an ack timeout — `error` says which); `dead-lettered` (copied to `deadLetterSubject`,
 * the original acked); `released` (given back unseen or on close, attempt unchanged where the
 * backend allows); `refused` (the backend refused the settle: left to its ack timeout).
 */
export type DeliveryOutcome = 'acked' | 'nakked' | 'dead-lettered' | 'released' | 'refused';

/**
 * What `observe(bus, listener)` hears, in the order it happens:
 * - `published`: the backend accepted an application publish (dead-letter copies are not
 *   publishes: they come as a `settled` event with outcome `dead-lettered`);
 * - `publish-failed`: a publish or a batch entry was rejected (`error` is what the caller got);
 * - `received`: a delivery reached a subscription (it may wait there for a free slot);
 * - `handed-out`: the application got it (a handler started, or an iterator yielded it);
 * - `settled`: the delivery ended (see `DeliveryOutcome`).
 */
export type BusEvent = (
  | { readonly type: 'published'; readonly message: ObservedPublish; readonly receipt: PublishReceipt }
  | {
      readonly type: 'publish-failed';
      readonly subject: string;
      readonly id: string;
      readonly error: unknown;
    }
  | { readonly type: 'received'; readonly subscription: ObservedSubscription; readonly message: Message }
  | { readonly type: 'handed-out'; readonly subscription: ObservedSubscription; readonly message: Message }
  | {
      readonly type: 'settled';
      readonly subscription: ObservedSubscription;
      readonly message: Message;
      readonly outcome: DeliveryOutcome;
      /** The handler's error, the ack timeout's `TimeoutError`, or the error a dead-letter records. */
      readonly error?: unknown;
      /** Why it was dead-lettered (the `omnibus-dlq-reason` header). */
      readonly reason?: string;
      /** Where the dead-letter copy went. */
      readonly deadLetterSubject?: string;
      /** Whether the application had the message (false: settled by the bus before a hand-out). */
      readonly handedOut: boolean;
    }
) & {
  /** The bus's backend (`memory`, `nats`, …): what tells buses apart for `observeAll`. */
  readonly backend: string;
};

/** A function that hears a bus's events. It must not throw (what it throws is counted in `errors` and dropped). */
export type BusListener = (event: BusEvent) => void;

/**
 * What a bus is doing right now. Core's figures are exact for every backend; the
 * backend's (`queued`, `dueRetries`, `scheduledRetries`, `nextRetryAt`) come from backends
 * that hold their queues in this process (memory) and are `undefined` elsewhere.
 */
export interface BusActivity {
  /** Publishes (and batches) sent and not answered yet. */
  readonly publishing: number;
  /** Deliveries received by subscriptions and waiting for a free `maxInFlight` slot. */
  readonly buffered: number;
  /** Deliveries handed to the application and not settled (handlers running, messages held). */
  readonly handedOut: number;
  /** Settles (acks, naks, dead-letter copies, delayed naks held in core) still under way. */
  readonly settling: number;
  /** Messages the backend holds for a subscription with members, not delivered yet. */
  readonly queued?: number;
  /** Redeliveries due now and not delivered yet. */
  readonly dueRetries?: number;
  /** Redeliveries waiting for their backoff or delay. */
  readonly scheduledRetries?: number;
  /** When the next scheduled redelivery is due (epoch ms, on the bus's clock `Date.now()`). */
  readonly nextRetryAt?: number;
}

/** The backend's half of `BusActivity`. */
export type DriverActivity = Pick<BusActivity, 'queued' | 'dueRetries' | 'scheduledRetries' | 'nextRetryAt'>;

/** Listeners of every bus of the process (`observeAll`). */
const globalListeners = globalList<BusListener>('omnibus.listeners');

/** The event types a listener asked for (`options.events`), on the listener itself: shared by every copy of core. */
const LISTENER_EVENTS = Symbol.for('omnibus.listener.events');

/** The kinds of `BusEvent`. */
export type BusEventType = BusEvent['type'];

/** Options of `observe` and `observeAll`. */
export interface ObserveOptions {
  /**
   * Only these event types reach the listener, and the bus builds no event nobody asked for (a
   * `published` event copies the payload): what a metrics instrumentation that counts deliveries
   * needs. Default: every type.
   */
  readonly events?: readonly BusEventType[];
}

const EVENT_TYPES: readonly BusEventType[] = [
  'published',
  'publish-failed',
  'received',
  'handed-out',
  'settled',
];
type Wants = Record<BusEventType, boolean>;
const NOTHING: Wants = {
  published: false,
  'publish-failed': false,
  received: false,
  'handed-out': false,
  settled: false,
};

function eventsOf(listener: BusListener): readonly BusEventType[] | undefined {
  return (listener as unknown as Record<symbol, readonly BusEventType[] | undefined>)[LISTENER_EVENTS];
}

/** `listener` marked with the event types it wants (a copy of it: the same function may be added twice). */
function withEvents(listener: BusListener, options: ObserveOptions | undefined, what: string): BusListener {
  const events = options?.events;
  if (events === undefined) return listener;
  if (!Array.isArray(events) || events.some((e) => !EVENT_TYPES.includes(e)))
    throw new InvalidArgumentError(`${what}: events must be a list of ${EVENT_TYPES.join(', ')}`, {
      hint: `${what}(${what === 'observe' ? 'bus, ' : ''}listener, { events: ['settled'] })`,
    });
  const marked: BusListener = (event) => listener(event);
  Object.defineProperty(marked, LISTENER_EVENTS, { value: Object.freeze([...events]) });
  return marked;
}

/**
 * A bus's listeners and the process's. `active` and `wants` are read on hot paths: no event is
 * built when nobody listens, nor one of a type no listener asked for.
 */
export class Observers extends OwnAndGlobal<BusListener> {
  #onFault: () => void = () => {};
  /** Which event types some listener wants (kept by `refresh`). */
  declare wants: Readonly<Wants>;

  constructor() {
    super(globalListeners);
    this.refresh();
  }

  override refresh(): void {
    super.refresh();
    if (!this.active) {
      this.wants = NOTHING;
      return;
    }
    const wants: Wants = { ...NOTHING };
    for (const listener of this.all()) {
      const events = eventsOf(listener);
      for (const type of events ?? EVENT_TYPES) wants[type] = true;
    }
    this.wants = wants;
  }

  /** Called when a listener throws (the bus counts it in `errors`). */
  onFault(fault: () => void): void {
    this.#onFault = fault;
  }

  emit(event: BusEvent): void {
    for (const listener of this.all()) {
      const events = eventsOf(listener);
      if (events === undefined || events.includes(event.type)) this.#call(listener, event);
    }
  }

  #call(listener: BusListener, event: BusEvent): void {
    try {
      listener(event);
    } catch {
      this.#onFault();
    }
  }
}

function checkListener(listener: unknown, what: string): asserts listener is BusListener {
  if (typeof listener !== 'function')
    throw new InvalidArgumentError(`${what} needs a listener function`, {
      hint: `${what}(${what === 'observe' ? 'bus, ' : ''}(event) => { … })`,
    });
}

/**
 * Listens to every bus of this process, those created before and after — what a metrics or
 * tracing instrumentation does. Events carry the backend (`event.backend`). Returns a function
 * that stops listening.
 */
export function observeAll(listener: BusListener, options?: ObserveOptions): () => void {
  checkListener(listener, 'observeAll');
  return addGlobal(globalListeners, withEvents(listener, options, 'observeAll'));
}

/** Where `createBus` keeps a bus's observability side (not enumerable, not part of `EventBus`). */
const OBSERVABILITY = Symbol.for('omnibus.observability');

interface Observability {
  readonly observers: Observers;
  readonly interceptors: Interceptors;
  activity(): BusActivity;
}

/** Gives `bus` its observability side (called by `createBus`). */
export function attachObservability(bus: object, value: Observability): void {
  Object.defineProperty(bus, OBSERVABILITY, { value, enumerable: false });
}

function observabilityOf(bus: unknown, what: string): Observability {
  const value =
    bus !== null && typeof bus === 'object'
      ? (bus as Record<symbol, Observability | undefined>)[OBSERVABILITY]
      : undefined;
  if (!value)
    throw new InvalidArgumentError(`${what} needs a bus built by createBus`, {
      hint: 'pass a bus from createEventBus, createMemoryBus or another @omnibus adapter',
    });
  return value;
}

/**
 * Listens to everything that happens on `bus`: publishes, deliveries and how each ended. For
 * test harnesses, tracing and metrics; listeners run synchronously on the bus's path, so keep
 * them short. Returns a function that stops listening.
 *
 * ```ts
 * const stop = observe(bus, (event) => {
 *   if (event.type === 'settled' && event.outcome === 'dead-lettered') console.log(event.reason);
 * });
 * ```
 *
 * @throws InvalidArgumentError when `bus` was not built by `createBus`.
 */
export function observe(bus: unknown, listener: BusListener, options?: ObserveOptions): () => void {
  checkListener(listener, 'observe');
  return observabilityOf(bus, 'observe').observers.add(withEvents(listener, options, 'observe'));
}

/**
 * What `bus` is doing right now: publishes under way, deliveries buffered, held and settling,
 * and (on the memory bus) what the backend still has queued or scheduled for redelivery. A
 * test harness is idle when all of these are zero.
 *
 * @throws InvalidArgumentError when `bus` was not built by `createBus`.
 */
export function activity(bus: unknown): BusActivity {
  return observabilityOf(bus, 'activity').activity();
}

/**
 * Installs `interceptor` around the publishes and handlers of `bus` only (see `interceptAll` for
 * every bus of the process). Returns a function that removes it.
 *
 * @throws InvalidArgumentError when `bus` was not built by `createBus`.
 */
export function intercept(bus: unknown, interceptor: BusInterceptor): () => void {
  return observabilityOf(bus, 'intercept').interceptors.add(interceptor);
}
