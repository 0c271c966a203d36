import { RingQueue } from '@omnibus/core';

interface Recorded {
  readonly key: string;
  readonly at: number;
}

/**
 * Remembers ids for a time window, bounded in count; the oldest are forgotten
 * first. The ids are kept in a Map for look-up and, in the order they were
 * recorded, in a ring queue for forgetting: a Map whose oldest entry is deleted
 * over and over (`keys().next()`) walks the holes its deletions left, which made
 * a full window of 100,000 ids slow down with every publish.
 */
export class DedupeWindow {
  readonly #seen = new Map<string, number>();
  readonly #order = new RingQueue<Recorded>();
  readonly #windowMs: number;
  readonly #maxEntries: number;

  constructor(windowMs: number, maxEntries: number) {
    this.#windowMs = windowMs;
    this.#maxEntries = maxEntries;
  }

  /** How many ids are remembered. */
  get size(): number {
    return this.#seen.size;
  }

  /** True when `key` was recorded inside the window. */
  has(key: string, now: number): boolean {
    this.#expire(now);
    const at = this.#seen.get(key);
    return at !== undefined && now - at < this.#windowMs;
  }

  record(key: string, now: number): void {
    if (this.#windowMs === 0) return;
    this.#seen.set(key, now);
    this.#order.push({ key, at: now });
    while (this.#seen.size > this.#maxEntries) this.#forgetOldest();
  }

  #expire(now: number): void {
    // recording order is time order, so expired ids are at the front
    for (let oldest = this.#order.peek(); oldest !== undefined; oldest = this.#order.peek()) {
      if (now - oldest.at < this.#windowMs) break;
      this.#forgetOldest();
    }
  }

  /** Forgets the oldest record, unless its id was recorded again since (that later record stands). */
  #forgetOldest(): void {
    const oldest = this.#order.shift();
    if (oldest !== undefined && this.#seen.get(oldest.key) === oldest.at) this.#seen.delete(oldest.key);
  }
}
