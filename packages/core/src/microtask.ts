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

const ready: (Runnable | undefined)[] = [];
let readyCount = 0;
let readyScheduled = false;

function runReady(): void {
  try {
    // runnables queued while this pass runs are taken in the same pass
    for (let i = 0; i < readyCount; i++) {
      const runnable = ready[i] as Runnable;
      ready[i] = undefined;
      try {
        runnable.run();
      } catch (error) {
        // a bug, not a message's failure: surface it, and keep every other subscription running
        setTimeout(() => {
          throw error;
        });
      }
    }
  } finally {
    readyCount = 0; // the array keeps its slots: no resize on the hot path
    readyScheduled = false;
  }
}

/**
 * Runs `runnable.run()` in a microtask shared by everything queued before it
 * runs: a publish fanned out to ten subscriptions costs one microtask, not ten.
 * The caller coalesces (queues itself at most once until it runs); `run` must not throw.
 */
export function runInSharedMicrotask(runnable: Runnable): void {
  ready[readyCount++] = runnable;
  if (!readyScheduled) {
    readyScheduled = true;
    runSoon(runReady);
  }
}
