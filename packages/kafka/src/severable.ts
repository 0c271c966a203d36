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
