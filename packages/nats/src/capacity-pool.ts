import type { DeliverySink } from '@omnibus/core';

interface Waiter {
  readonly owner: object;
  readonly resolve: (granted: number) => void;
}

/**
 * Shares one subscription's free `maxInFlight` between the pull loops feeding it
 * (one loop for a single stream; one per stream for a pattern spanning streams).
 *
 * A pull asks the server for up to `n` messages, and those may all arrive, so a loop
 * reserves `n` slots before it pulls and gives back what did not arrive when the
 * pull ends: at any moment, pushed-and-unsettled plus reserved ≤ `maxInFlight`. A
 * loop gets at most its fair share (`maxInFlight / loops`, at least 1), and only
 * once a quarter of that share is free (no trickle of tiny pulls); loops waiting
 * for capacity are served in turn. With more loops than slots, idle loops do not
 * hold a slot in a long poll at all (see `oversubscribed`): a busy stream is not
 * starved by idle ones.
 */
export class CapacityPool {
  readonly #sink: DeliverySink;
  readonly #limit: number;
  #reserved = 0;
  #members = 0;
  readonly #queue: Waiter[] = [];

  constructor(sink: DeliverySink, maxInFlight: number) {
    this.#sink = sink;
    this.#limit = Math.max(1, maxInFlight);
    sink.onCapacity(() => this.#serve());
  }

  /** Slots neither taken by unsettled deliveries nor reserved by a pull on its way. */
  get free(): number {
    return Math.max(0, this.#sink.capacity - this.#reserved);
  }

  /** Slots reserved by pulls on their way (for tests). */
  get reserved(): number {
    return this.#reserved;
  }

  /** A loop starts taking part (its share is computed over the members). */
  join(): void {
    this.#members++;
  }

  /** A loop stopped: its share goes to the others. */
  leave(owner: object): void {
    this.cancel(owner);
    this.#members = Math.max(0, this.#members - 1);
    this.#serve();
  }

  /**
   * More loops than slots: each share is 1 and an idle loop's long pull would hold a
   * slot a busy loop needs, so idle loops check for work before they take one (`PullLoop`).
   */
  get oversubscribed(): boolean {
    return this.#members > this.#limit;
  }

  #share(): number {
    return Math.max(1, Math.ceil(this.#limit / Math.max(1, this.#members)));
  }

  /** How many slots a pull may reserve now (0: wait). */
  #grant(): number {
    const share = this.#share();
    const n = Math.min(this.free, share);
    return n >= Math.max(1, Math.floor(share / 4)) ? n : 0;
  }

  /**
   * Reserves slots for one pull: resolves with how many (≥ 1), or 0 once `cancel`led.
   * Waits, in turn with the other loops, until enough is free.
   */
  acquire(owner: object): Promise<number> {
    if (this.#queue.length === 0) {
      const n = this.#grant();
      if (n > 0) {
        this.#reserved += n;
        return Promise.resolve(n);
      }
    }
    return new Promise((resolve) => this.#queue.push({ owner, resolve }));
  }

  /** One reserved slot became a pushed delivery (call right before `sink.push`). */
  consume(): void {
    this.#reserved = Math.max(0, this.#reserved - 1);
  }

  /** Gives back reserved slots a pull did not use. */
  release(n: number): void {
    if (n <= 0) return;
    this.#reserved = Math.max(0, this.#reserved - n);
    this.#serve();
  }

  /** Ends `owner`'s waits with 0 (the loop is stopping). */
  cancel(owner: object): void {
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      const w = this.#queue[i] as Waiter;
      if (w.owner !== owner) continue;
      this.#queue.splice(i, 1);
      w.resolve(0);
    }
  }

  #serve(): void {
    while (this.#queue.length > 0) {
      const n = this.#grant();
      if (n === 0) return;
      const w = this.#queue.shift() as Waiter;
      this.#reserved += n;
      w.resolve(n);
    }
  }
}
