/** Remembers ids for a time window, bounded in count; the oldest are forgotten first. */
export class DedupeWindow {
  readonly #seen = new Map<string, number>();
  readonly #windowMs: number;
  readonly #maxEntries: number;

  constructor(windowMs: number, maxEntries: number) {
    this.#windowMs = windowMs;
    this.#maxEntries = maxEntries;
  }

  /** True when `key` was recorded inside the window. */
  has(key: string, now: number): boolean {
    this.#expire(now);
    const at = this.#seen.get(key);
    return at !== undefined && now - at < this.#windowMs;
  }

  record(key: string, now: number): void {
    if (this.#windowMs === 0) return;
    this.#seen.delete(key);
    this.#seen.set(key, now);
    if (this.#seen.size > this.#maxEntries) this.#seen.delete(this.#seen.keys().next().value as string);
  }

  #expire(now: number): void {
    // insertion order is time order, so expired entries are at the front
    for (const [key, at] of this.#seen) {
      if (now - at < this.#windowMs) break;
      this.#seen.delete(key);
    }
  }
}
