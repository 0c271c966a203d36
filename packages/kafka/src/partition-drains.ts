/** `<topic>\0<partition>`: a partition's key in the consumer loop's maps. */
export const keyOf = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export function splitKey(key: string): [string, number] {
  const i = key.lastIndexOf('\u0000');
  return [key.slice(0, i), Number(key.slice(i + 1))];
}

/**
 * How many deliveries each partition has handed to the subscription and not yet released, and
 * waiting until some partitions (or all) have none: a revoke waits for the deliveries of the
 * partitions it takes away, the member's last commit for all of them.
 */
export class Drains {
  readonly #held = new Map<string, number>();
  readonly #waiters = new Set<() => void>();

  /** Counts one delivery of `key`; returns its release (once; later calls do nothing). */
  hold(key: string): () => void {
    this.#held.set(key, (this.#held.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#held.get(key) ?? 1) - 1;
      if (left > 0) this.#held.set(key, left);
      else this.#held.delete(key);
      for (const wake of [...this.#waiters]) wake();
    };
  }

  #idle(keys: readonly string[] | undefined): boolean {
    return keys ? keys.every((k) => !this.#held.has(k)) : this.#held.size === 0;
  }

  /** Resolves once none of `keys` (every partition when undefined) holds a delivery, or after `ms`. */
  settled(keys: readonly string[] | undefined, ms: number): Promise<void> {
    if (this.#idle(keys)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => done(), ms) : undefined;
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const check = () => {
        if (this.#idle(keys)) done();
      };
      this.#waiters.add(check);
    });
  }
}
