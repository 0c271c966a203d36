import type { BusHealth } from './operability.js';
/** Message headers: string keys to string values (see docs/contract.md for allowed characters). */
export type Headers = Record<string, string>;

/** What `publish` accepts as a payload: raw bytes, or a string sent as UTF-8. */
export type Payload = Uint8Array | string;

/** Per-publish options. */
/**
 * How messages are delivered (docs/contract.md, "Delivery levels"):
 * - `at-least-once` (default): stored by the backend, acknowledged, redelivered until settled,
 *   dead-lettered after `maxAttempts`;
 * - `at-most-once`: the broker's fast path (NATS core, the memory bus without acks): no broker
 *   ack, no redelivery, no dead letter; a subscriber misses what is published while it is not
 *   connected, and one that falls behind skips the oldest (counted in `stats().dropped`).
 * Effectively-once is the outbox's inbox (`@omnibus/outbox`) on top of at-least-once.
 */
export type DeliveryLevel = 'at-least-once' | 'at-most-once';

export interface PublishOptions {
  /**
   * Message id. Publisher-chosen ids are the dedupe key: a second publish with the
   * same id inside the backend's dedupe window is not delivered again. When
   * omitted, a unique id is generated (and never deduplicated).
   */
  id?: string;
  /** Headers delivered byte-exact with the message. */
  headers?: Headers;
  /**
   * `at-most-once`: sent on the backend's fast path (`capabilities.atMostOnce`) and resolved
   * once handed to its client — no broker ack, no dedupe. Default `at-least-once`.
   */
  delivery?: DeliveryLevel;
}

/** One entry of `publishBatch`. */
export interface BatchEntry extends PublishOptions {
  subject: string;
  payload: Payload;
}

/** Proof that the backend accepted a message (durably, on durable backends). */
export interface PublishReceipt {
  /** The message id (the caller's, or the generated one). */
  readonly id: string;
  /** The subject it was published to. */
  readonly subject: string;
  /** True when the backend recognised the id as a duplicate and did not deliver it again. */
  readonly duplicate: boolean;
  /**
   * Backend position of the message, when known, as text: memory `"7"` (a counter per bus), NATS
   * `"<stream>:<seq>"`, Redis the stream entry id (`"1796429052175-0"`), Kafka
   * `"<topic>:<partition>:<offset>"`. Formats differ per backend: compare receipts of one backend only.
   */
  readonly sequence?: string;
}

/** Options for `Message.nak`. */
export interface NakOptions {
  /** Wait at least this long before redelivering (ms). Default: 0. */
  delayMs?: number;
}

/**
 * A delivered message. Settle it exactly once with `ack`, `nak` or `term`;
 * later settle calls are ignored. Under `ack: 'auto'` the bus settles it for you.
 */
export interface Message {
  /** Unique id: the publisher's, or generated at publish time. */
  readonly id: string;
  /** The real subject the message was published to (never the pattern). */
  readonly subject: string;
  /** Payload bytes, exactly as published. */
  readonly payload: Uint8Array;
  /** Headers, exactly as published (no Omnibus-internal headers). */
  readonly headers: Readonly<Headers>;
  /** When the message was published. */
  readonly publishedAt: Date;
  /** Delivery attempt, 1 on first delivery; +1 on each redelivery. */
  readonly attempt: number;
  /** True once `ack`, `nak` or `term` has been called (or the bus settled it). */
  readonly settled: boolean;
  /** Payload decoded as UTF-8. */
  text(): string;
  /** Payload decoded as UTF-8 and parsed as JSON. Throws `SyntaxError` on invalid JSON. */
  json<T = unknown>(): T;
  /** Marks the message processed; it will not be delivered again to this subscription or group. */
  ack(): Promise<void>;
  /**
   * Asks for redelivery (with `attempt + 1`) after `delayMs`. At the last allowed
   * attempt (`maxAttempts`), the message is dead-lettered instead.
   */
  nak(options?: NakOptions): Promise<void>;
  /** Dead-letters the message now, with `reason` in its `omnibus-dlq-reason` header. */
  term(reason?: string): Promise<void>;
}

/** Where a new subscription or group starts reading. */
export type StartPosition = 'new' | 'earliest' | { time: Date | number };

/** Redelivery delay after a failed attempt: a fixed delay, one per attempt (last repeats), or a function. */
export type Backoff = number | readonly number[] | ((attempt: number) => number);

/** Subscription options shared by `subscribe` and `consume`. */
export interface SubscribeOptions {
  /**
   * Competing-consumer group: each message goes to one member of the group; every
   * group (and every ungrouped subscription) receives every matching message.
   * Durable across restarts on durable backends. Starting position applies when
   * the group is first created.
   */
  group?: string;
  /** Where to start: `'new'` (default), `'earliest'` or `{ time }`. Needs `capabilities.replay` for anything but `'new'`. */
  from?: StartPosition;
  /**
   * `'auto'` (default): `consume` acks when the handler resolves; an iterator acks
   * a message when the loop asks for the next one or leaves. `'manual'`: call
   * `ack` / `nak` / `term` yourself; unsettled messages are redelivered after the
   * ack timeout or when the subscription closes.
   */
  ack?: 'auto' | 'manual';
  /** Most unsettled messages held by this subscriber at once (default 100). The next waits for a settle. */
  maxInFlight?: number;
  /** Deliveries before a message is dead-lettered (default 5). */
  maxAttempts?: number;
  /** Redelivery delay after a handler throws (default: 200 ms doubling up to 30 s). */
  backoff?: Backoff;
  /** Dead-letter subject, or a function of the message subject (default `dlq.<subject>`). */
  deadLetter?: string | ((subject: string) => string);
  /** An unsettled message is redelivered after this long (default 30 s). */
  ackTimeoutMs?: number;
  /** Aborting closes the subscription. */
  signal?: AbortSignal;
  /**
   * `at-most-once`: receives on the backend's fast path (`capabilities.atMostOnce`): no acks,
   * nothing redelivered or dead-lettered (a handler error is counted and the message is gone),
   * only `from: 'new'`; at most `maxInFlight` messages wait for the handler, beyond which the
   * oldest are skipped and counted in `stats().dropped`. `ack: 'manual'`, `maxAttempts`,
   * `backoff`, `deadLetter` and `ackTimeoutMs` are refused with `ConfigError`. Default
   * `at-least-once`.
   */
  delivery?: DeliveryLevel;
}

/** A function that handles one message; throwing (or rejecting) asks for a retry. */
export type MessageHandler = (message: Message) => unknown | Promise<unknown>;

/** Options of `consume`. */
export interface ConsumeOptions extends SubscribeOptions {
  /** Called with each handler error (after it has been counted and the message nakked or dead-lettered). */
  onError?: (error: unknown, message: Message) => void;
}

/** Something with a lifetime that can be closed. */
export interface Closable {
  /** Resolves when closed, for any reason (close(), abort, bus close). Never rejects. */
  readonly closed: Promise<void>;
  /** Stops intake, lets work in progress finish, releases unsettled messages for redelivery. Idempotent. */
  close(): Promise<void>;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A live subscription: an async iterable of messages (iterate it once).
 * Iteration ends when the subscription closes.
 */
export interface Subscription extends AsyncIterable<Message>, Closable {
  /** The pattern subscribed to. */
  readonly pattern: string;
  /** The group, if any. */
  readonly group: string | undefined;
}

/** A running `consume` loop. */
export interface Consumer extends Closable {
  /** The pattern consumed. */
  readonly pattern: string;
  /** The group, if any. */
  readonly group: string | undefined;
}

/** What a backend supports. The factory refuses configs that need more. */
export interface Capabilities {
  /** Accepted messages survive a process or broker restart. */
  durable: boolean;
  /** `from: 'earliest'` and `from: { time }` work (history is retained). */
  replay: boolean;
  /** Consumer groups (competing consumers). */
  groups: boolean;
  /** Publisher-id dedupe within a window. */
  dedupe: boolean;
  /** `nak({ delayMs })` delays redelivery. */
  delayedNak: boolean;
  /** Order guarantee for one publisher and one consumer. */
  ordering: 'subject' | 'none';
  /**
   * How a group spreads work over its members: any message to any member
   * (`message`), or each subject to one member at a time (`subject`: Kafka, where
   * a subject's partition belongs to one member, which also keeps its order).
   */
  groupBalance: 'message' | 'subject';
  /** Wildcards are routed by the broker (`native`) or emulated by the adapter. */
  wildcards: 'native' | 'emulated';
  /** Largest payload accepted, in bytes. */
  maxPayloadBytes: number;
  /**
   * The at-most-once fast path (`delivery: 'at-most-once'`), and whether a group can share its
   * traffic there (each message to one member). Absent: the backend has none.
   */
  atMostOnce?: { readonly groups: boolean };
  /**
   * The management API (`manage(bus)`: dead letters, groups and lag) is available. Set by core
   * when the adapter's driver implements it; absent otherwise.
   */
  management?: boolean;
}

/** The capability flags a configuration can require (boolean ones). */
export type CapabilityName = 'durable' | 'replay' | 'groups' | 'dedupe' | 'delayedNak';

/**
 * Counters since the bus was created. Invariant while the bus is open:
 * `delivered = acked + nakked + deadLettered + inFlight` (counting only messages received by
 * subscriptions; dead-letters are counted once, when the original is settled).
 */
export interface BusStats {
  /** Messages accepted by the backend (duplicates excluded). */
  published: number;
  /** Publishes the backend recognised as duplicates. */
  duplicates: number;
  /** Messages received by subscriptions (redeliveries included). */
  delivered: number;
  /** Deliveries with `attempt > 1`. */
  redelivered: number;
  /** Deliveries settled with ack (by the application or by auto ack). */
  acked: number;
  /** Deliveries given back for redelivery: nak, handler error before the last attempt, or release on close. */
  nakked: number;
  /** Messages moved to a dead-letter subject. */
  deadLettered: number;
  /** Received and not yet settled. */
  inFlight: number;
  /**
   * Messages a lagging subscriber skipped: under a dropping overflow policy (memory), and on
   * at-most-once subscriptions (the oldest waiting beyond `maxInFlight`, and those still waiting
   * when it closed); and at-most-once publishes a backend accepted and then failed to send
   * (Kafka, whose at-most-once publish resolves once queued).
   */
  dropped: number;
  /** Handler errors plus internal errors (failed dead-letter publishes, failed settles). */
  errors: number;
}

/**
 * The one contract application code depends on. Implementations MUST:
 * validate subjects and payload size before sending anything; resolve `publish`
 * only once the backend accepted the message; resolve `subscribe` only once the
 * subscription is live; deliver the real subject; reject every call after
 * `close()` with `BusClosedError`; never put credentials in errors or stats.
 * Build one with `createBus(driver)` from `@omnibus/core` to get all of that.
 */
export interface EventBus extends AsyncDisposable {
  /** Backend name: `memory`, `nats`, `redis`, `kafka`, or a third party's. */
  readonly backend: string;
  /** What this backend supports. */
  readonly capabilities: Readonly<Capabilities>;
  /**
   * Publishes one message. Resolves once the backend accepted it (durably on
   * durable backends). Rejects with `InvalidSubjectError`, `PayloadTooLargeError`,
   * `InvalidArgumentError`, `BusClosedError` or `PublishError`; a rejected publish sent nothing.
   */
  publish(subject: string, payload: Payload, options?: PublishOptions): Promise<PublishReceipt>;
  /**
   * Publishes many messages. Every entry is validated before anything is sent: an
   * invalid entry rejects the whole batch (`InvalidSubjectError`,
   * `PayloadTooLargeError`, `InvalidArgumentError`) with nothing sent. Entries on
   * one subject are stored in batch order. Resolves with one receipt per entry,
   * in order, once every entry was accepted. If the backend fails part-way,
   * rejects with `PublishError`: `accepted` holds the receipts of the longest
   * prefix known to be stored (entries `0 … accepted.length - 1`), and
   * `maybeStored` the indexes of later entries that may have been stored anyway
   * (the backends send a batch pipelined); every other entry was not stored.
   * Publishing `entries.slice(accepted.length)` again with the same ids is
   * deduplicated where `capabilities.dedupe` holds. See docs/contract.md.
   */
  publishBatch(entries: readonly BatchEntry[]): Promise<PublishReceipt[]>;
  /**
   * Subscribes to a subject or pattern. Resolves once live: every message
   * published after that is delivered to it.
   */
  subscribe(pattern: string, options?: SubscribeOptions): Promise<Subscription>;
  /**
   * Runs `handler` for each message: ack on success, nak with backoff on throw,
   * dead-letter after `maxAttempts`. Handlers run concurrently up to `maxInFlight`.
   * A throwing handler never affects another subscription. Resolves once live.
   */
  consume(pattern: string, handler: MessageHandler, options?: ConsumeOptions): Promise<Consumer>;
  /** A snapshot of the counters. */
  stats(): BusStats;
  /**
   * Readiness: asks the backend (a ping or metadata request, bounded by
   * `timeoutMs`, default 2,000) and says whether the bus can work now. Never
   * rejects; `ok: false` carries the reason. `timeoutMs: 0` asks nothing: the bus's
   * own state (open, and no connection loss it reported), for liveness probes that
   * must not load the broker.
   */
  health(timeoutMs?: number): Promise<BusHealth>;
  /**
   * Drains and closes: stops intake, waits for in-flight handlers (up to
   * `timeoutMs`, default 10 s), flushes publishes, disconnects. Idempotent.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}
