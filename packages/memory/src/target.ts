import { type DeliverySink, OrderedList, RingQueue, runSoon, type SettleInfo } from '@omnibus/core';
import type { Envelope, QueueItem } from './envelope.js';
import { type DeliveryOwner, MemoryDelivery } from './memory-delivery.js';

/** A subscriber attached to a target. */
export interface Member {
  readonly sink: DeliverySink;
}

/**
 * Where the memory bus queues messages: one per ungrouped subscription, one per
 * group (shared by its members, kept when the last member leaves, as a durable
 * consumer would be). Delivers in order, round-robin over members with capacity,
 * redelivers on nak, release or ack timeout.
 */
export class Target implements DeliveryOwner {
  readonly pattern: string;
  readonly group: string | undefined;
  readonly members: Member[] = [];
  readonly #queue = new RingQueue<QueueItem>();
  readonly #retries: QueueItem[] = [];
  /** Handed out, not yet settled, in hand-out order. */
  readonly #inFlight = new OrderedList<MemoryDelivery>();
  readonly #onSpace: () => void;
  #pumping = false;
  #roundRobin = 0;
  #pumpQueued = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryAt = 0;
  #closed = false;

  constructor(pattern: string, group: string | undefined, onSpace: () => void) {
    this.pattern = pattern;
    this.group = group;
    this.#onSpace = onSpace;
  }

  /** Messages waiting (not in flight). */
  get buffered(): number {
    return this.#queue.length + this.#retries.length;
  }

  /**
   * The management figures, as a broker counts them: `lag`, not delivered yet; `pending`, delivered
   * and not settled (in flight, or nakked and waiting for its redelivery); `redelivered`, those of
   * the pending ones delivered more than once (a waiting retry's `attempt` is already its next one).
   */
  figures(): { lag: number; pending: number; redelivered: number } {
    let redelivered = 0;
    for (const delivery of this.#inFlight) if (delivery.attempt > 1) redelivered++;
    for (const item of this.#retries) if (item.attempt > 2) redelivered++;
    return { lag: this.#queue.length, pending: this.#inFlight.size + this.#retries.length, redelivered };
  }

  /**
   * What this target still has to hand out, for `activity()`: nothing when it has no members
   * (a memberless group's backlog waits for a member, it is not work under way).
   */
  activity(now: number): {
    queued: number;
    dueRetries: number;
    scheduledRetries: number;
    nextRetryAt?: number;
  } {
    if (this.members.length === 0 || this.#closed) return { queued: 0, dueRetries: 0, scheduledRetries: 0 };
    let due = 0;
    // retries are ordered by due time: the due ones come first
    while (due < this.#retries.length && (this.#retries[due] as QueueItem).notBefore <= now) due++;
    const next = this.#retries[due];
    return {
      queued: this.#queue.length,
      dueRetries: due,
      scheduledRetries: this.#retries.length - due,
      ...(next ? { nextRetryAt: next.notBefore } : {}),
    };
  }

  /** Queues a published message and hands it out at once when a member has room. */
  enqueue(envelope: Envelope, now: number): void {
    this.#queue.push({ envelope, attempt: 1, notBefore: 0 });
    if (!this.#pumping && this.#retries.length === 0) this.#pump(now);
    else this.schedule();
  }

  /** Removes and returns the oldest waiting message (for `drop-oldest`). */
  dropOldest(): QueueItem | undefined {
    // waiting redeliveries count against maxBuffered too: when only they are left, the oldest goes
    return this.#queue.shift() ?? this.#retries.shift();
  }

  /**
   * Runs a delivery pass soon (coalesced). Redeliveries wait for a macrotask so a
   * handler that fails at once with no backoff cannot starve the event loop.
   */
  schedule(macrotask = false): void {
    if (this.#pumpQueued || this.#closed) return;
    if (this.#queue.length === 0 && this.#retries.length === 0) return; // nothing to hand out
    this.#pumpQueued = true;
    const run = () => {
      this.#pumpQueued = false;
      this.#pump(Date.now());
    };
    if (macrotask) setImmediate(run);
    else runSoon(run);
  }

  #nextReady(now: number): QueueItem | undefined {
    if (this.#retries.length > 0) {
      const retry = this.#retries[0] as QueueItem;
      if (retry.notBefore <= now) return this.#retries.shift();
    }
    return this.#queue.shift();
  }

  #pickMember(): Member | undefined {
    const { members } = this;
    const n = members.length;
    if (n === 1) {
      const only = members[0] as Member;
      return only.sink.capacity > 0 ? only : undefined;
    }
    for (let i = 0; i < n; i++) {
      const m = members[(this.#roundRobin + i) % n] as Member;
      if (m.sink.capacity > 0) {
        this.#roundRobin = (this.#roundRobin + i + 1) % n;
        return m;
      }
    }
    return undefined;
  }

  #pump(now: number): void {
    if (this.#closed) return;
    let moved = false;
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 || this.#retries.length > 0) {
        const member = this.#pickMember();
        if (!member) break;
        const item = this.#nextReady(now);
        if (!item) break;
        moved = true;
        this.#deliver(item, member);
      }
    } finally {
      this.#pumping = false;
    }
    if (moved) this.#onSpace();
    if (this.#retries.length > 0) this.#armRetryTimer(now);
  }

  #armRetryTimer(now: number): void {
    const next = this.#retries[0];
    if (!next || next.notBefore <= now) return;
    if (this.#retryTimer && this.#retryAt <= next.notBefore) return;
    clearTimeout(this.#retryTimer);
    this.#retryAt = next.notBefore;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.schedule();
    }, next.notBefore - now);
  }

  #deliver(item: QueueItem, member: Member): void {
    // the ack timeout runs in core, from hand-out: an expired delivery comes back as a nak
    const delivery = new MemoryDelivery(this, item);
    this.#inFlight.add(delivery);
    member.sink.push(delivery);
  }

  /** Takes a delivery out of flight; false when it is stale (timed out and redelivered, or target closed). */
  #take(delivery: MemoryDelivery): boolean {
    return this.#inFlight.delete(delivery);
  }

  settleAck(delivery: MemoryDelivery, info: SettleInfo): void {
    if (!this.#take(delivery)) return;
    const { item } = delivery;
    if (info.error !== undefined) this.#reportFailure(item, info.error);
    item.envelope.tracker?.finish();
  }

  settleNak(delivery: MemoryDelivery, delayMs: number, info: SettleInfo): void {
    if (!this.#take(delivery)) return;
    const { item } = delivery;
    if (info.error !== undefined) this.#reportFailure(item, info.error);
    if (info.reason === 'release' && !info.handedOut) {
      this.#requeue(item); // never seen: back in its place, same attempt
      this.schedule();
      return;
    }
    this.#redeliver(item, delayMs);
  }

  /** Puts a released item back where it was: the queue stays in publish order, whatever order releases come in. */
  #requeue(item: QueueItem): void {
    const { sequence } = item.envelope;
    this.#queue.insertBefore(item, (queued) => queued.envelope.sequence > sequence);
  }

  #reportFailure(item: QueueItem, error: unknown): void {
    item.envelope.tracker?.fail({ pattern: this.pattern, group: this.group, attempt: item.attempt, error });
  }

  #redeliver(item: QueueItem, delayMs: number): void {
    if (this.#closed) {
      item.envelope.tracker?.finish();
      return;
    }
    item.attempt++;
    item.notBefore = delayMs > 0 ? Date.now() + delayMs : 0;
    // keep retries ordered by due time (stable for equal times)
    let i = this.#retries.length;
    while (i > 0 && (this.#retries[i - 1] as QueueItem).notBefore > item.notBefore) i--;
    this.#retries.splice(i, 0, item);
    this.schedule(true);
  }

  /** Drops everything (ungrouped subscription gone, or bus closing); trackers are released. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    for (const { item } of this.#inFlight.clear()) item.envelope.tracker?.finish();
    for (const item of [...this.#queue.drain(), ...this.#retries.splice(0)]) item.envelope.tracker?.finish();
    this.#onSpace();
  }
}
