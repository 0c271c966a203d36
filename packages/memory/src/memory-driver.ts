import {
  BackpressureError,
  BusClosedError,
  type BusDriver,
  type Capabilities,
  ConfigError,
  DLQ_HEADERS,
  type DriverActivity,
  type DriverReceipt,
  type DriverSubscribeRequest,
  type DriverSubscription,
  log,
  type OutgoingMessage,
  SubjectIndex,
} from '@omnibus/core';
import { DedupeWindow } from './dedupe-window.js';
import type { DeliveryTracker } from './delivery-tracker.js';
import type { Envelope } from './envelope.js';
import { FastPath } from './fast-path.js';
import { History } from './history.js';
import { MemoryManagement } from './memory-management.js';
import type { ResolvedMemoryOptions } from './options.js';
import { PayloadPool } from './payload-pool.js';
import { Target } from './target.js';

const BACKEND = 'memory';
/** Dead letters a memory bus without history keeps for the management API (oldest dropped first). */
const DEAD_LETTERS_KEPT = 10_000;

/** How to get replay (`from: 'earliest' | { time }`) from a memory bus: its `history` option. */
const REPLAY_HINT =
  'create the bus with history: createMemoryBus({ history: true }) (or { history: { maxMessages, maxAgeMs } }), ' +
  "createEventBus({ backend: 'memory', history: true }) or OMNIBUS_URL=memory://?history=true";

/** The in-process transport behind `createMemoryBus`. */
export class MemoryDriver implements BusDriver {
  readonly backend = BACKEND;
  readonly capabilities: Readonly<Capabilities>;
  readonly capabilityHints = { replay: REPLAY_HINT } as const;
  readonly #options: ResolvedMemoryOptions;
  readonly #index = new SubjectIndex<Target>();
  /** At-most-once subscriptions: fed by every publish, straight from `#store`. */
  readonly #fast = new FastPath();
  readonly #groups = new Map<string, Target>();
  /** Every live target (groups and ungrouped subscriptions), for `activity()`. */
  readonly #targets = new Set<Target>();
  readonly #dedupe: DedupeWindow;
  readonly #history: History | undefined;
  /** Dead letters kept for the management API when there is no history (which holds them then). */
  readonly #deadLetters: History;
  readonly management: MemoryManagement;
  readonly #trackers = new Map<string, DeliveryTracker>();
  readonly #spaceWaiters = new Set<() => void>();
  readonly #payloads = new PayloadPool();
  #dropped = 0;
  /** Groups already reported for dropping while memberless (logged once each). */
  readonly #warnedMemberless = new Set<string>();
  #sequence = 0;
  #closed = false;

  constructor(options: ResolvedMemoryOptions) {
    this.#options = options;
    this.#dedupe = new DedupeWindow(options.dedupeWindowMs, options.dedupeMaxEntries);
    this.#history = options.history
      ? new History(options.history.maxMessages, options.history.maxAgeMs)
      : undefined;
    // dead letters in a store of their own, history or not: ordinary traffic must not push them out
    this.#deadLetters = new History(DEAD_LETTERS_KEPT, Number.POSITIVE_INFINITY);
    this.management = new MemoryManagement(this.#deadLetters, this.#history, this.#groups);
    this.capabilities = Object.freeze({
      durable: false,
      replay: this.#history !== undefined,
      groups: true,
      dedupe: options.dedupeWindowMs > 0,
      delayedNak: true,
      ordering: 'subject',
      groupBalance: 'message',
      wildcards: 'emulated',
      maxPayloadBytes: options.maxPayloadBytes,
      atMostOnce: { groups: true },
    } satisfies Capabilities);
  }

  extraStats(): { dropped: number } {
    return { dropped: this.#dropped };
  }

  activity(now: number): DriverActivity {
    let queued = 0;
    let dueRetries = 0;
    let scheduledRetries = 0;
    let nextRetryAt: number | undefined;
    for (const target of this.#targets) {
      const a = target.activity(now);
      queued += a.queued;
      dueRetries += a.dueRetries;
      scheduledRetries += a.scheduledRetries;
      if (a.nextRetryAt !== undefined && (nextRetryAt === undefined || a.nextRetryAt < nextRetryAt))
        nextRetryAt = a.nextRetryAt;
    }
    return { queued, dueRetries, scheduledRetries, ...(nextRetryAt === undefined ? {} : { nextRetryAt }) };
  }

  /** Attaches a tracker to the next publish with this id (used by `publishAndWait`). */
  track(id: string, tracker: DeliveryTracker): void {
    this.#trackers.set(id, tracker);
  }

  untrack(id: string): void {
    this.#trackers.delete(id);
  }

  publish(message: OutgoingMessage): DriverReceipt | Promise<DriverReceipt> {
    if (this.#closed) throw new BusClosedError({ backend: BACKEND });
    const dedupeKey = message.dedupe ? `${message.subject}\u0000${message.id}` : '';
    if (message.dedupe && this.#dedupe.has(dedupeKey, Date.now())) {
      const tracker = this.#trackers.get(message.id);
      this.#trackers.delete(message.id);
      tracker?.expect(0);
      return { duplicate: true };
    }
    const targets = this.#index.match(message.subject);
    // an at-most-once publish never waits, not even for a full at-least-once subscriber
    if (this.#options.overflow === 'block' && !message.atMostOnce && this.#anyFull(targets)) {
      return this.#waitForRoom(message.subject, targets).then((ready) => {
        if (message.dedupe && this.#dedupe.has(dedupeKey, Date.now())) return { duplicate: true }; // raced while waiting
        return this.#store(message, dedupeKey, ready, Date.now());
      });
    }
    // the clock now, not publishedAt: a batch is prepared before its entries are stored
    return this.#store(message, dedupeKey, targets, Date.now());
  }

  /** Stores one accepted message: history, dedupe window, and every matching target's queue. */
  #store(
    message: OutgoingMessage,
    dedupeKey: string,
    targets: readonly Target[],
    now: number,
  ): DriverReceipt {
    let tracker: DeliveryTracker | undefined;
    if (this.#trackers.size > 0) {
      tracker = this.#trackers.get(message.id);
      this.#trackers.delete(message.id);
    }
    const envelope: Envelope = {
      id: message.id,
      subject: message.subject,
      payload: this.#payloads.copy(message.payload), // the publisher may reuse its buffer
      headers: message.headers, // core's own copy, made when it validated them
      publishedAt: message.publishedAt,
      sequence: ++this.#sequence,
      tracker,
    };
    if (message.dedupe) this.#dedupe.record(dedupeKey, Date.now());
    this.#history?.append(envelope);
    if (message.headers[DLQ_HEADERS.subject] !== undefined) this.#deadLetters.append(envelope);
    tracker?.expect(targets.length);
    for (const target of targets) this.#enqueue(target, envelope, now);
    if (this.#fast.active) this.#fast.deliver(message, envelope.payload);
    return { duplicate: false, sequence: String(envelope.sequence) };
  }

  #enqueue(target: Target, envelope: Envelope, now: number): void {
    const { maxBuffered, onDrop } = this.#options;
    // a group nobody reads keeps its newest `maxBuffered` messages, as a broker's retention
    // limit would: it never blocks publishers, whatever the overflow policy
    const memberless = isMemberless(target);
    const overflow = memberless ? 'drop-oldest' : this.#options.overflow;
    if (overflow !== 'block' && target.buffered >= maxBuffered) {
      const dropped = overflow === 'drop-oldest' ? target.dropOldest()?.envelope : envelope;
      if (dropped) {
        this.#dropped++;
        dropped.tracker?.finish();
        if (memberless) this.#warnMemberless(target);
        try {
          onDrop?.({
            id: dropped.id,
            subject: dropped.subject,
            pattern: target.pattern,
            group: target.group,
            policy: overflow,
            reason: memberless ? 'group-without-members' : 'overflow',
          });
        } catch {
          // a throwing onDrop must not break publishing
        }
      }
      if (overflow === 'drop-newest') return;
    }
    target.enqueue(envelope, now);
  }

  #warnMemberless(target: Target): void {
    const group = target.group as string;
    if (this.#warnedMemberless.has(group)) return;
    this.#warnedMemberless.add(group);
    log(
      this.#options.logger ?? console,
      'warn',
      `[omnibus:memory] group "${group}" (${target.pattern}) has no members and ${this.#options.maxBuffered} messages waiting: its oldest messages are dropped (counted in stats().dropped; reported once per group)`,
    );
  }

  #anyFull(targets: readonly Target[]): boolean {
    const { maxBuffered } = this.#options;
    for (const t of targets) if (t.buffered >= maxBuffered && !isMemberless(t)) return true;
    return false;
  }

  /** Waits until every matching target has room; the message is then enqueued everywhere at once. */
  async #waitForRoom(subject: string, initial: readonly Target[]): Promise<readonly Target[]> {
    let targets = initial;
    const full = () => targets.find((t) => t.buffered >= this.#options.maxBuffered && !isMemberless(t));
    const deadline = Date.now() + this.#options.blockTimeoutMs;
    for (let blocker = full(); blocker; blocker = full()) {
      const remaining = deadline - Date.now();
      if (this.#closed) throw new BusClosedError({ backend: BACKEND });
      if (remaining <= 0) {
        throw new BackpressureError(
          `subscriber "${blocker.pattern}"${blocker.group ? ` (group ${blocker.group})` : ''} has ${blocker.buffered} messages waiting; publish to "${subject}" timed out after ${this.#options.blockTimeoutMs} ms and sent nothing`,
          {
            backend: BACKEND,
            hint: "the subscriber is slower than its publishers: speed its handler up (or raise its maxInFlight), raise maxBuffered or blockTimeoutMs, or let the bus drop messages (overflow: 'drop-oldest' or 'drop-newest')",
          },
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, remaining);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#spaceWaiters.add(done);
      });
      targets = this.#index.match(subject);
    }
    return targets;
  }

  #notifySpace = (): void => {
    if (this.#spaceWaiters.size === 0) return;
    const waiters = [...this.#spaceWaiters];
    this.#spaceWaiters.clear();
    for (const w of waiters) w();
  };

  async subscribe(request: DriverSubscribeRequest): Promise<DriverSubscription> {
    if (this.#closed) throw new BusClosedError({ backend: BACKEND });
    const { group, pattern, sink } = request;
    if (request.atMostOnce) {
      const remove = this.#fast.add(pattern, group, sink);
      return { stop: async () => remove() };
    }
    let target: Target;
    if (group !== undefined) {
      const existing = this.#groups.get(group);
      if (existing && existing.pattern !== pattern) {
        throw new ConfigError(
          'group',
          `group "${group}" already consumes "${existing.pattern}"; a group has one pattern`,
          {
            backend: BACKEND,
            hint: `give the subscription to "${pattern}" a group name of its own, or subscribe the group with "${existing.pattern}"`,
          },
        );
      }
      target = existing ?? this.#createTarget(pattern, group, request);
      if (!existing) this.#groups.set(group, target);
    } else {
      target = this.#createTarget(pattern, undefined, request);
    }
    const member = { sink };
    target.members.push(member);
    if (group !== undefined) this.#warnedMemberless.delete(group);
    sink.onCapacity(() => target.schedule());
    target.schedule();
    return {
      stop: async () => {
        const i = target.members.indexOf(member);
        if (i >= 0) target.members.splice(i, 1);
        if (group === undefined) {
          this.#index.remove(pattern, target);
          this.#targets.delete(target);
          target.close();
        } else {
          target.schedule();
          // publishers blocked by this group's full buffer stop waiting for it once nobody reads it
          if (target.members.length === 0) this.#notifySpace();
        }
      },
    };
  }

  #createTarget(pattern: string, group: string | undefined, request: DriverSubscribeRequest): Target {
    const target = new Target(pattern, group, this.#notifySpace);
    for (const envelope of this.#history?.replay(pattern, request.from, Date.now()) ?? []) {
      target.enqueue({ ...envelope, tracker: undefined }, Date.now());
    }
    this.#index.add(pattern, target);
    this.#targets.add(target);
    return target;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const target of this.#groups.values()) target.close();
    this.#groups.clear();
    this.#targets.clear();
    this.#notifySpace();
  }
}

/** A group whose members have all left: kept (as a durable consumer would be) but never waited for. */
function isMemberless(target: Target): boolean {
  return target.group !== undefined && target.members.length === 0;
}
