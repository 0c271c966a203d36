import { ConnectionError, OmnibusError } from './errors.js';

/** First wait between attempts, and the longest (ms). */
const FIRST_WAIT_MS = 250;
const LONGEST_WAIT_MS = 2_000;
/** The least time an attempt is given, even when it starts at the end of the wait (ms). */
const SHORTEST_ATTEMPT_MS = 1_000;

/** When `retryWhileAway` tries again. */
export interface RetryWhileAway {
  /** How long after the first attempt a new one may still start (ms). */
  readonly timeoutMs: number;
  /**
   * Called as each attempt starts; the function it returns says, after a
   * failure, whether the backend was away during the attempt or is now: only
   * then was the failure the outage rather than the request, and worth another
   * attempt.
   */
  watchOutage(): () => Promise<boolean>;
  /** False once nobody waits for the result any more (aborted, bus closing): the last error is thrown. */
  wanted(): boolean;
  /** Settles when `wanted()` turns false: the wait between attempts ends at once. */
  readonly ended: Promise<unknown>;
}

/**
 * Runs `attempt` (given the time left, at least 1 s, to bound itself by), and
 * while it fails because the backend is away — a `ConnectionError` or a
 * client's own error, with `watchOutage` saying the backend was or is
 * unreachable — runs it again (250 ms, doubling to 2 s between attempts) until
 * one succeeds or `timeoutMs` has passed; then throws the last error. Any other
 * `OmnibusError` (bad config, a refused request) is thrown at once, and so is
 * the last error as soon as `ended` settles. For what must ride through a short
 * outage as a publish does: `subscribe`. `attempt` must be safe to repeat.
 */
export async function retryWhileAway<T>(
  attempt: (timeLeftMs: number) => Promise<T>,
  retry: RetryWhileAway,
): Promise<T> {
  const deadline = Date.now() + retry.timeoutMs;
  const ended = retry.ended.then(
    () => false,
    () => false,
  );
  let wait = FIRST_WAIT_MS;
  for (;;) {
    const wasAway = retry.watchOutage();
    try {
      return await attempt(Math.max(deadline - Date.now(), SHORTEST_ATTEMPT_MS));
    } catch (error) {
      const mayRetry = !(error instanceof OmnibusError) || error instanceof ConnectionError;
      if (!mayRetry || !retry.wanted() || Date.now() >= deadline) throw error;
      // the check, like the pause after it, ends early when nobody waits or the time is up
      if (!(await raceUntil([wasAway(), ended], deadline - Date.now(), false))) throw error;
      await raceUntil([ended], Math.min(wait, deadline - Date.now()), false);
      wait = Math.min(wait * 2, LONGEST_WAIT_MS);
      if (!retry.wanted()) throw error;
    }
  }
}

/** The first of `promises` to settle, or `fallback` after `ms` (the timer is cleared either way). */
async function raceUntil<T>(promises: Promise<T>[], ms: number, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      ...promises,
      new Promise<T>((resolve) => {
        timer = setTimeout(() => resolve(fallback), Math.max(0, ms));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
