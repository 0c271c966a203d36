/**
 * A FIFO queue on a growable ring buffer: `push` and `shift` in constant time
 * without the re-indexing `Array.prototype.shift` does on large arrays. The
 * per-message queues of the subscription runtime and of the memory bus use it.
 */
export class RingQueue<T> {
  #items: (T | undefined)[] = new Array(16);
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & (this.#items.length - 1)] = item;
    this.#length++;
  }

  /** The oldest item, without removing it. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#length--;
    return item;
  }

  /** Inserts `item` before the first item for which `before(existing)` is true (at the end when none is). */
  insertBefore(item: T, before: (existing: T) => boolean): void {
    const all = this.drain();
    let i = 0;
    while (i < all.length && !before(all[i] as T)) i++;
    all.splice(i, 0, item);
    for (const x of all) this.push(x);
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item);
    return out;
  }

  #grow(): void {
    const old = this.#items;
    const next: (T | undefined)[] = new Array(old.length * 2);
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & (old.length - 1)];
    this.#items = next;
    this.#head = 0;
  }
}
