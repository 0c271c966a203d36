import type { DeliveredMessage } from './message.js';
import { OrderedList } from './ordered-list.js';

/**
 * A subscription's messages handed out and not settled yet, in hand-out order (released
 * in that order on close), with their ack deadlines. Hand-outs are in time order and
 * share one ack timeout, so deadlines grow along the list: one timer, armed for the
 * oldest hand-out's deadline, serves them all.
 */
export class HandOuts {
  readonly #list = new OrderedList<DeliveredMessage>();
  readonly #ackTimeoutMs: number;
  /** Called for each message whose deadline passed; it must settle it (which takes it out of the list). */
  readonly #onExpired: (message: DeliveredMessage) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(ackTimeoutMs: number, onExpired: (message: DeliveredMessage) => void) {
    this.#ackTimeoutMs = ackTimeoutMs;
    this.#onExpired = onExpired;
  }

  /** How many are handed out and not settled. */
  get size(): number {
    return this.#list.size;
  }

  /** Records a hand-out at `now`: its deadline is `now + ackTimeoutMs`. */
  add(message: DeliveredMessage, now: number): void {
    message.handedOut = true;
    message.deadline = now + this.#ackTimeoutMs;
    this.#list.add(message);
    // no deadline (at most once: nothing is redelivered): no timer
    if (this.#timer === undefined && !this.#stopped && Number.isFinite(this.#ackTimeoutMs))
      this.#arm(message.deadline, now);
  }

  /** Takes a message being settled out of the list (no-op for one never handed out). */
  delete(message: DeliveredMessage): void {
    if (message.handedOut) this.#list.delete(message);
  }

  /** No more ack timeouts: the subscription is closing, and releases what is left itself. */
  stopExpiry(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Empties the list; returns what it held, in hand-out order. */
  takeAll(): DeliveredMessage[] {
    return this.#list.clear();
  }

  #arm(at: number, now: number): void {
    this.#timer = setTimeout(this.#expire, Math.max(0, at - now));
    this.#timer.unref?.();
  }

  readonly #expire = (): void => {
    this.#timer = undefined;
    if (this.#stopped) return; // closing releases what is left
    const now = Date.now();
    for (let head = this.#list.first; head; head = this.#list.first) {
      if (head.deadline > now) {
        this.#arm(head.deadline, now);
        return;
      }
      this.#onExpired(head);
    }
  };
}
