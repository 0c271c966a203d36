const resolved = Promise.resolve();

/**
 * Runs `fn` in a microtask, like `queueMicrotask` without Node's async-context
 * bookkeeping (about twice as fast on Node 20): the scheduler of the per-message
 * hot paths. `fn` must not throw (it would surface as an unhandled rejection).
 */
export function runSoon(fn: () => void): void {
  void resolved.then(fn);
}
