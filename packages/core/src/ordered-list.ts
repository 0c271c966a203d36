/** Keys of the links an `OrderedList` keeps on its entries: symbols, so `JSON.stringify` never walks them. */
export const listPrev: unique symbol = Symbol('omnibus.listPrev');
export const listNext: unique symbol = Symbol('omnibus.listNext');
export const listOwner: unique symbol = Symbol('omnibus.listOwner');

/** A node of an `OrderedList`: the list links its entries through these three symbol-keyed fields. */
export interface ListNode<T> {
  [listPrev]: T | undefined;
  [listNext]: T | undefined;
  /** The list the entry is in, if any. */
  // biome-ignore lint/suspicious/noExplicitAny: the owner is only compared by identity
  [listOwner]: OrderedList<any> | undefined;
}

/**
 * An insertion-ordered set of objects linked through their own fields: adding and
 * removing cost two pointer writes, no hashing and no allocation, which matters on
 * a path taken once per message. An entry is in at most one list at a time.
 */
export class OrderedList<T extends ListNode<T>> {
  #head: T | undefined;
  #tail: T | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The oldest entry, if any. */
  get first(): T | undefined {
    return this.#head;
  }

  add(entry: T): void {
    if (entry[listOwner]) return;
    entry[listOwner] = this;
    entry[listPrev] = this.#tail;
    entry[listNext] = undefined;
    if (this.#tail) this.#tail[listNext] = entry;
    else this.#head = entry;
    this.#tail = entry;
    this.#size++;
  }

  /** Removes `entry`; false when it was not in this list. */
  delete(entry: T): boolean {
    if (entry[listOwner] !== this) return false;
    const prev = entry[listPrev];
    const next = entry[listNext];
    if (prev) prev[listNext] = next;
    else this.#head = next;
    if (next) next[listPrev] = prev;
    else this.#tail = prev;
    entry[listPrev] = entry[listNext] = entry[listOwner] = undefined;
    this.#size--;
    return true;
  }

  /** The entries, oldest first (safe to delete the current one while iterating). */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let entry = this.#head; entry; ) {
      const next: T | undefined = entry[listNext];
      yield entry;
      entry = next;
    }
  }

  /** Removes every entry and returns them, oldest first. */
  clear(): T[] {
    const all = [...this];
    for (const entry of all) entry[listPrev] = entry[listNext] = entry[listOwner] = undefined;
    this.#head = this.#tail = undefined;
    this.#size = 0;
    return all;
  }
}
