interface Node<T> {
  literal: Map<string, Node<T>>;
  star: Node<T> | undefined;
  /** values whose pattern ends with `>` at this depth */
  tail: Set<T>;
  /** values whose pattern ends exactly here */
  exact: Set<T>;
}

function node<T>(): Node<T> {
  return { literal: new Map(), star: undefined, tail: new Set(), exact: new Set() };
}

/**
 * Maps patterns to values and answers "which values match this subject" with a
 * token trie and a bounded cache of subject → matches, invalidated on change.
 * Shared by every adapter that emulates wildcards; the same matching rules as
 * `subjectMatches`.
 */
export class SubjectIndex<T> {
  readonly #root: Node<T> = node();
  readonly #cache = new Map<string, readonly T[]>();
  readonly #maxCached: number;
  #size = 0;

  /** @param maxCached how many distinct subjects to remember (default 10,000). */
  constructor(maxCached = 10_000) {
    this.#maxCached = maxCached;
  }

  /** Number of (pattern, value) entries. */
  get size(): number {
    return this.#size;
  }

  /** Adds `value` under `pattern` (a valid pattern; validate first). */
  add(pattern: string, value: T): void {
    let current = this.#root;
    const tokens = pattern.split('.');
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i] as string;
      if (token === '>') {
        if (!current.tail.has(value)) this.#size++;
        current.tail.add(value);
        this.#cache.clear();
        return;
      }
      if (token === '*') {
        current.star ??= node();
        current = current.star;
      } else {
        let next = current.literal.get(token);
        if (!next) {
          next = node();
          current.literal.set(token, next);
        }
        current = next;
      }
    }
    if (!current.exact.has(value)) this.#size++;
    current.exact.add(value);
    this.#cache.clear();
  }

  /** Removes `value` from under `pattern`; a no-op when absent. */
  remove(pattern: string, value: T): void {
    const path: Node<T>[] = [this.#root];
    let current: Node<T> | undefined = this.#root;
    const tokens = pattern.split('.');
    for (const token of tokens) {
      if (token === '>') break;
      current = token === '*' ? current.star : current.literal.get(token);
      if (!current) return;
      path.push(current);
    }
    const set = tokens[tokens.length - 1] === '>' ? current.tail : current.exact;
    if (set.delete(value)) this.#size--;
    this.#cache.clear();
  }

  /** Values whose pattern matches `subject`, each once, in no particular order. */
  match(subject: string): readonly T[] {
    const cached = this.#cache.get(subject);
    if (cached) return cached;
    const out = new Set<T>();
    this.#collect(this.#root, subject.split('.'), 0, out);
    const result = [...out];
    if (this.#cache.size >= this.#maxCached) {
      const oldest = this.#cache.keys().next().value as string;
      this.#cache.delete(oldest);
    }
    this.#cache.set(subject, result);
    return result;
  }

  #collect(current: Node<T>, tokens: string[], depth: number, out: Set<T>): void {
    if (depth < tokens.length) {
      for (const v of current.tail) out.add(v);
      const token = tokens[depth] as string;
      const lit = current.literal.get(token);
      if (lit) this.#collect(lit, tokens, depth + 1, out);
      if (current.star) this.#collect(current.star, tokens, depth + 1, out);
    } else {
      for (const v of current.exact) out.add(v);
    }
  }
}
