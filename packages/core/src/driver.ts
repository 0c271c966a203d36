import type { DriverManagement } from './management/management-types.js';
import type { DriverActivity } from './observer.js';
import type { BusStatus } from './operability.js';
import type { BusStats, Capabilities, Headers } from './types.js';

/**
 * The adapter-author side of Omnibus. An adapter implements `BusDriver` (transport
 * only) and `createBus(driver)` turns it into a full `EventBus`: validation, payload
 * limits, stats, `consume`, retries, dead-lettering, `maxInFlight`, abort and
 * close/drain all live once in core.
 */

/** A validated message on its way to the backend. */
export interface OutgoingMessage {
  readonly id: string;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly headers: Readonly<Headers>;
  /** Epoch milliseconds. */
  readonly publishedAt: number;
  /** True when the id was chosen by the publisher: the backend MUST dedupe on it within its window. */
  readonly dedupe: boolean;
  /**
   * Set (only) for an at-most-once publish: send it on the fast path (`capabilities.atMostOnce`),
   * resolve once the client has it; no broker ack, no dedupe.
   */
  readonly atMostOnce?: true;
}

/** What the backend said about one publish. */
export interface DriverReceipt {
  readonly duplicate: boolean;
  readonly sequence?: string;
}

/** Why a delivery is being settled; lets backends account attempts and report errors. */
export interface SettleInfo {
  /** `release`: given back unprocessed (subscription closing); not a failed attempt when `handedOut` is false. */
  readonly reason: 'ack' | 'nak' | 'handler-error' | 'dead-letter' | 'release';
  /** Whether the application saw the message. */
  readonly handedOut: boolean;
  /** The handler error, when there was one. */
  readonly error?: unknown;
}

/** One message received from the backend, with the backend's own settle operations. */
export interface InboundDelivery {
  readonly id: string;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly headers: Readonly<Headers>;
  /** Epoch milliseconds. */
  readonly publishedAt: number;
  /** 1 on first delivery. */
  readonly attempt: number;
  /**
   * Optional: called when the application takes the message (iterator or handler).
   * Backends whose ack timeout would otherwise run from delivery restart it here,
   * so a message waiting in the subscription's buffer is never taken over by
   * another member before anyone saw it.
   */
  onHandOut?(): void;
  /**
   * Removes the message from this subscription or group for good. Return a promise
   * when the backend settles asynchronously; an in-process backend may settle at
   * once and return nothing, which spares core a promise per message.
   */
  ack(info: SettleInfo): Promise<void> | void;
  /** Redeliver after `delayMs` with `attempt + 1` (unless `info.reason` is a release of an unseen message). */
  nak(delayMs: number, info: SettleInfo): Promise<void> | void;
}

/**
 * Where a driver pushes deliveries. Drivers MUST NOT push more than `capacity`
 * messages; they wait for `onCapacity` instead (that is how `maxInFlight` reaches
 * the broker).
 */
export interface DeliverySink {
  /** How many more deliveries may be pushed now (0 once the subscription is closing). */
  readonly capacity: number;
  /** Hands one delivery to the subscription. */
  push(delivery: InboundDelivery): void;
  /** Registers the (single) listener called whenever capacity grows. */
  onCapacity(listener: () => void): void;
  /** Reports a backend problem that the subscription survived or could not survive (counted in `errors`). */
  reportError(error: unknown): void;
}

/** A normalised start position. */
export type DriverStartPosition = 'new' | 'earliest' | { readonly time: number };

/** A validated subscription request. */
export interface DriverSubscribeRequest {
  /** Unique per subscription; stable names for broker-side ephemeral objects. */
  readonly id: string;
  readonly pattern: string;
  readonly group: string | undefined;
  readonly from: DriverStartPosition;
  readonly maxInFlight: number;
  readonly ackTimeoutMs: number;
  readonly sink: DeliverySink;
  /**
   * An at-most-once subscription (`capabilities.atMostOnce`): receive on the fast path and push
   * every message (capacity does not apply: core skips the oldest of those waiting beyond
   * `maxInFlight`), attempt 1, with `ack` and `nak` that do nothing on the broker. `from` is `new`.
   */
  readonly atMostOnce?: true;
}

/** A live subscription at the driver level. */
export interface DriverSubscription {
  /**
   * Stop intake; resolves when no further `push` will happen. Deliveries pushed
   * while stopping (a pull already on its way) are held by core and released, in
   * push order after the ones buffered earlier, once this resolves.
   */
  stop(): Promise<void>;
}

/** The transport half of an adapter. */
export interface BusDriver {
  readonly backend: string;
  readonly capabilities: Readonly<Capabilities>;
  /**
   * Optional: how a user gets a capability this bus lacks, e.g. for the memory bus's `replay`:
   * `create the bus with history: createMemoryBus({ history: true })`. It becomes the hint of
   * the `ConfigError` that refuses a subscription needing it (`from: 'earliest'`, a `group`).
   */
  readonly capabilityHints?: Readonly<Partial<Record<'replay' | 'groups', string>>>;
  /**
   * Resolve once the backend accepted the message; throw otherwise (nothing
   * half-sent). An in-process backend may return the receipt directly.
   */
  publish(message: OutgoingMessage): Promise<DriverReceipt> | DriverReceipt;
  /**
   * Optional pipelined batch; entries on one subject are stored in batch order.
   * On failure throw a `PublishError` whose `accepted` holds the `DriverReceipt`s
   * of the longest prefix of entries acknowledged, and whose `maybeStored` lists
   * every later index that may have been stored (acknowledged after an earlier
   * entry failed, or outcome unknown); the others must not have been stored.
   * Another `OmnibusError` (configuration, validation) passes through unchanged
   * and must mean nothing was sent; anything else thrown is taken as "outcome
   * unknown" for every entry.
   */
  publishBatch?(messages: readonly OutgoingMessage[]): Promise<DriverReceipt[]>;
  /** Resolve once live: every message accepted after this resolves is pushed to the sink. */
  subscribe(request: DriverSubscribeRequest): Promise<DriverSubscription>;
  /**
   * Optional: core installs its status listener here once, right after `createBus`.
   * Drivers report connection loss and recovery (`connection: 'lost' | 'restored'`)
   * and other status changes through it — and only through it: core logs connection
   * loss and recovery, tracks the connection state, and forwards each status once to
   * the `onStatus` the adapter passed to `createBus`. `StatusRelay` holds what a driver
   * reports before this is called.
   */
  setStatusListener?(listener: (status: BusStatus) => void): void;
  /**
   * Optional readiness probe: resolves when the backend answers (a ping, a metadata
   * request), rejects otherwise. Core bounds it with a timeout.
   */
  probe?(): Promise<void>;
  /**
   * Optional: what the backend holds in this process for subscriptions with members — messages
   * queued, redeliveries due and scheduled (the memory bus). `activity(bus)` adds it to core's
   * figures; a test harness waits for all of them to be zero.
   */
  activity?(now: number): DriverActivity;
  /** Optional backend-owned counters merged into `stats()` (e.g. `dropped`). */
  extraStats?(): Partial<Pick<BusStats, 'dropped'>>;
  /**
   * Optional management half: browse and remove stored messages, list groups with their
   * figures. Core builds dead-letter list / show / redrive / purge on it (`manage(bus)`).
   */
  readonly management?: DriverManagement;
  /** Flush pending publishes and disconnect. Called once, after every subscription stopped. */
  close(): Promise<void>;
}
