/**
 * The timers and clock as they were when this module loaded. The harness bounds its own waits
 * with these, so a wait still ends when a test fakes the timers later (`vi.useFakeTimers()`,
 * `jest.useFakeTimers()`); the bus's own timers (backoff, delayed naks, ack timeouts) follow
 * the fake clock.
 */
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realPerformance = globalThis.performance;
const realNowFn = realPerformance.now.bind(realPerformance);

/** Milliseconds on a clock no fake timer moves or stops. */
export const realNow = (): number => realNowFn();

/** Resolves after `ms` of real time (a macrotask: queued microtasks run first). */
export function realDelay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    realSetTimeout(resolve, ms);
  });
}

/** Runs `fn` after `ms` of real time; returns a function that cancels it. */
export function realTimer(ms: number, fn: () => void): () => void {
  const timer = realSetTimeout(fn, ms);
  return () => realClearTimeout(timer);
}

/**
 * Whether the timers captured at load were already fake (@sinonjs/fake-timers, which vitest and
 * jest use, marks its functions with `clock`; jest's legacy timers are mock functions).
 */
export function timersFakedAtLoad(): boolean {
  const timer = realSetTimeout as unknown as { clock?: unknown; _isMockFunction?: unknown };
  return timer.clock !== undefined || timer._isMockFunction === true;
}
