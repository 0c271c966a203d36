import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * A callback handed to a librdkafka client that can be cut off from what it calls.
 *
 * A consumer of @confluentinc/kafka-javascript stays reachable from a native handle after its
 * `disconnect()` (its issue #369: about 1 MB per consumer), and with it everything its config
 * and `run()` were given: our rebalance callback, `eachBatch` and the client's logger — and
 * through them the subscription, the bus, its producers and admin. A service that opens and
 * closes subscriptions kept every closed one alive (the Kafka model soak: 3 GB after 1,000
 * histories, each slower than the last). The client gets `callback`, which holds nothing but
 * this link; `sever()` after the client's disconnect lets the rest be collected.
 *
 * Made at module level on purpose: a closure created inside a method shares that method's
 * context (and its `this`) with the method's other closures.
 */
export function severable<A extends unknown[], R>(
  target: (...args: A) => R,
): { readonly callback: (...args: A) => R | undefined; sever(): void } {
  let current: ((...args: A) => R) | undefined = target;
  return {
    // severed: the client is gone (a callback that still came does nothing)
    callback: (...args: A) => current?.(...args),
    sever: () => {
      current = undefined;
    },
  };
}

/** `severable` for a callback the client awaits (`rebalance_cb`, `eachBatch`). */
export function severableAsync<A extends unknown[], R>(
  target: (...args: A) => Promise<R>,
): { readonly callback: (...args: A) => Promise<R | undefined>; sever(): void } {
  let current: ((...args: A) => Promise<R>) | undefined = target;
  return {
    callback: async (...args: A) => current?.(...args),
    sever: () => {
      current = undefined;
    },
  };
}

/**
 * Drops the cluster metadata a disconnected consumer keeps (librdkafka's layer holds every
 * topic's partitions, replicas and in-sync replicas from its connect, "still useful" after the
 * disconnect): with the consumer itself kept alive (above), that is most of what each closed
 * subscription would cost, and it grows with the cluster's topics. A no-op on a client without it.
 */
export function forgetMetadata(consumer: object): void {
  try {
    const internal = (consumer as { _getInternalClient?: () => unknown })._getInternalClient?.();
    if (internal !== null && typeof internal === 'object' && '_metadata' in internal)
      (internal as { _metadata: unknown })._metadata = {};
  } catch {
    // a client that no longer exposes it: nothing to drop
  }
}

/** The shape of the store the client's lock keeps in its AsyncLocalStorage. */
function isLockStore(store: unknown): boolean {
  return (
    store !== null &&
    typeof store === 'object' &&
    Array.isArray((store as { stack?: unknown }).stack) &&
    typeof (store as { writers?: unknown }).writers === 'number' &&
    typeof (store as { readers?: unknown }).readers === 'number'
  );
}

/**
 * The AsyncLocalStorage of a consumer's lock, turned off once the consumer is disconnected.
 *
 * Each consumer of @confluentinc/kafka-javascript guards its run loop with a lock that keeps
 * its state in an AsyncLocalStorage of its own, and never turns it off. Before Node 24, every
 * storage that was ever used stays registered with async_hooks: each promise the process creates
 * afterwards is stamped once per storage. With the consumer itself kept after its disconnect
 * (above), every closed subscription made every later promise slower: 30 closed subscriptions
 * took `await` from 36 M/s to 0.4 M/s here, and the contract model's soak slowed with each
 * history. The storage is private to the client; its lock starts using it synchronously inside
 * `run()` and `disconnect()`, so it is caught there (a `run` of a storage whose store has the
 * lock's shape) and `disable()`d after the disconnect resolved, when the lock is free.
 */
export class LockStorages {
  readonly #storages = new Set<AsyncLocalStorage<unknown>>();
  /** Lock-shaped `run`s seen by `capture` (a disconnect that took the lock adds one). */
  #runs = 0;

  /** Calls `call`, a client method that takes its lock before its first `await`, keeping the lock's storage. */
  capture<T>(call: () => T): T {
    const prototype = AsyncLocalStorage.prototype as unknown as {
      run: (this: AsyncLocalStorage<unknown>, store: unknown, ...rest: unknown[]) => unknown;
    };
    const run = prototype.run;
    const seen = (storage: AsyncLocalStorage<unknown>) => {
      this.#storages.add(storage);
      this.#runs++;
    };
    prototype.run = function (this: AsyncLocalStorage<unknown>, store: unknown, ...rest: unknown[]) {
      if (isLockStore(store)) seen(this);
      return run.call(this, store, ...rest);
    };
    try {
      return call();
    } finally {
      prototype.run = run;
    }
  }

  /**
   * Disconnects `consumer`, then turns its lock's storage off. The disconnect runs outside that
   * storage: called from a handler (whose context descends from the client's run loop, inside the
   * lock), the lock would take it for a re-entrant call and not wait for the run loop to let go —
   * and a storage turned off under the run loop makes its last `getStore()` undefined, a crash
   * inside the client. Turned off only when this disconnect took the lock itself (one under way
   * elsewhere makes it return at once) and has ended, resolved or not: the lock is free then.
   */
  async disconnect(consumer: { disconnect(): Promise<void> }): Promise<void> {
    const before = this.#runs;
    let call = () => consumer.disconnect();
    for (const storage of this.#storages) {
      const inner = call;
      call = () => storage.exit(inner);
    }
    const disconnected = this.capture(call);
    const tookLock = this.#runs > before;
    try {
      await disconnected;
    } finally {
      if (tookLock) this.#release();
    }
  }

  #release(): void {
    for (const storage of this.#storages) storage.disable();
    this.#storages.clear();
  }
}
