import type { DeliverySink, InboundDelivery, SettleInfo } from '@omnibus/core';
import type { Envelope, QueueItem } from './envelope.js';

/** A subscriber attached to a target. */
export interface Member {
  readonly sink: DeliverySink;
  readonly ackTimeoutMs: number;
}

interface InFlight {
  readonly item: QueueItem;
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * Where the memory bus queues messages: one per ungrouped subscription, one per
 * group (shared by its members, kept when the last member leaves, as a durable
 * consumer would be). Delivers in order, round-robin over members with capacity,
 * redelivers on nak, release or ack timeout.
 */
export class Target {
  readonly pattern: string;
  readonly group: string | undefined;
  readonly members: Member[] = [];
  readonly #queue: QueueItem[] = [];
  readonly #retries: QueueItem[] = [];
  readonly #inFlight = new Map<number, InFlight>();
  readonly #onSpace: () => void;
  #nextToken = 0;
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

  enqueue(envelope: Envelope): void {
    this.#queue.push({ envelope, attempt: 1, notBefore: 0 });
    this.schedule();
  }

  /** Removes and returns the oldest waiting message (for `drop-oldest`). */
  dropOldest(): QueueItem | undefined {
    return this.#queue.shift();
  }

  /**
   * Runs a delivery pass soon (coalesced). Redeliveries wait for a macrotask so a
   * handler that fails at once with no backoff cannot starve the event loop.
   */
  schedule(macrotask = false): void {
    if (this.#pumpQueued || this.#closed) return;
    this.#pumpQueued = true;
    const run = () => {
      this.#pumpQueued = false;
      this.#pump();
    };
    if (macrotask) setImmediate(run);
    else queueMicrotask(run);
  }

  #nextReady(now: number): QueueItem | undefined {
    const retry = this.#retries[0];
    if (retry && retry.notBefore <= now) return this.#retries.shift();
    return this.#queue.shift();
  }

  #pickMember(): Member | undefined {
    const n = this.members.length;
    for (let i = 0; i < n; i++) {
      const m = this.members[(this.#roundRobin + i) % n] as Member;
      if (m.sink.capacity > 0) {
        this.#roundRobin = (this.#roundRobin + i + 1) % n;
        return m;
      }
    }
    return undefined;
  }

  #pump(): void {
    if (this.#closed) return;
    const now = Date.now();
    let moved = false;
    for (;;) {
      const member = this.#pickMember();
      if (!member) break;
      const item = this.#nextReady(now);
      if (!item) break;
      moved = true;
      this.#deliver(item, member);
    }
    if (moved) this.#onSpace();
    this.#armRetryTimer(now);
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
    const token = this.#nextToken++;
    const timer = setTimeout(() => {
      if (!this.#inFlight.delete(token)) return;
      this.#redeliver(item, 0);
    }, member.ackTimeoutMs);
    timer.unref?.();
    this.#inFlight.set(token, { item, timer });
    const { envelope } = item;
    const settle = (): boolean => {
      const entry = this.#inFlight.get(token);
      if (!entry) return false; // stale: timed out and redelivered, or target closed
      clearTimeout(entry.timer);
      this.#inFlight.delete(token);
      return true;
    };
    const delivery: InboundDelivery = {
      id: envelope.id,
      subject: envelope.subject,
      payload: envelope.payload,
      headers: envelope.headers,
      publishedAt: envelope.publishedAt,
      attempt: item.attempt,
      ack: async (info: SettleInfo) => {
        if (!settle()) return;
        if (info.error !== undefined) this.#reportFailure(item, info.error);
        envelope.tracker?.finish();
      },
      nak: async (delayMs: number, info: SettleInfo) => {
        if (!settle()) return;
        if (info.error !== undefined) this.#reportFailure(item, info.error);
        if (info.reason === 'release' && !info.handedOut) {
          this.#requeue(item); // never seen: back in its place, same attempt
          this.schedule();
          return;
        }
        this.#redeliver(item, delayMs);
      },
    };
    member.sink.push(delivery);
  }

  /** Puts a released item back where it was: the queue stays in publish order, whatever order releases come in. */
  #requeue(item: QueueItem): void {
    const { sequence } = item.envelope;
    let i = 0;
    while (i < this.#queue.length && (this.#queue[i] as QueueItem).envelope.sequence < sequence) i++;
    this.#queue.splice(i, 0, item);
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
    for (const { item, timer } of this.#inFlight.values()) {
      clearTimeout(timer);
      item.envelope.tracker?.finish();
    }
    this.#inFlight.clear();
    for (const item of [...this.#queue.splice(0), ...this.#retries.splice(0)])
      item.envelope.tracker?.finish();
    this.#onSpace();
  }
}
