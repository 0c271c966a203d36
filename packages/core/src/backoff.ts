import { InvalidArgumentError } from './errors.js';
import type { Backoff } from './types.js';

/** Default redelivery delay: 200 ms, doubling per attempt, at most 30 s. */
export const defaultBackoff = (attempt: number): number =>
  Math.min(30_000, 200 * 2 ** Math.max(0, attempt - 1));

/**
 * Turns a `Backoff` option into a function of the failed attempt (1-based) that
 * returns a delay in milliseconds (never negative, never NaN).
 */
export function resolveBackoff(backoff: Backoff | undefined): (attempt: number) => number {
  if (backoff === undefined) return defaultBackoff;
  if (typeof backoff === 'number') {
    if (!Number.isFinite(backoff) || backoff < 0)
      throw new InvalidArgumentError('backoff must be a non-negative number of ms');
    return () => backoff;
  }
  if (typeof backoff === 'function') {
    return (attempt) => {
      const v = Number(backoff(attempt));
      return Number.isFinite(v) && v > 0 ? v : 0;
    };
  }
  if (Array.isArray(backoff)) {
    if (backoff.length === 0 || backoff.some((v) => !Number.isFinite(v) || v < 0)) {
      throw new InvalidArgumentError('backoff array must hold at least one non-negative number of ms');
    }
    const list = [...backoff];
    return (attempt) => list[Math.min(list.length - 1, Math.max(0, attempt - 1))] as number;
  }
  throw new InvalidArgumentError('backoff must be a number, an array of numbers or a function');
}
