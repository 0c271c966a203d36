const resolved = Promise.resolve();

/**
 * Runs `fn` in a microtask, like `queueMicrotask` without Node's async-context
 * bookkeeping (about twice as fast on Node 20): the scheduler of the per-message
 * hot paths. `fn` must not throw (it would surface as an unhandled rejection).
 */
export function runSoon(fn: () => void): void {
  void resolved.then(fn);
}

/** Something with work to do in the next shared microtask. */
export interface Runnable {
  run(): void;
}

const ready: Runnable[] = [];
let readyScheduled = false;

function runReady(): void {
  // runnables queued while this pass runs are taken in the same pass
  for (let i = 0; i < ready.length; i++) (ready[i] as Runnable).run();
  ready.length = 0;
  readyScheduled = false;
}

/**
 * Runs `runnable.run()` in a microtask shared by everything queued before it
 * runs: a publish fanned out to ten subscriptions costs one microtask, not ten.
 * The caller coalesces (queues itself at most once until it runs); `run` must not throw.
 */
export function runInSharedMicrotask(runnable: Runnable): void {
  ready.push(runnable);
  if (!readyScheduled) {
    readyScheduled = true;
    runSoon(runReady);
  }
}
