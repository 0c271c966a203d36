import { describe, expect, it } from 'vitest';
import {
  quantile,
  SOAK_LOOP_P99_LIMIT_MS,
  SOAK_RETAINED_TREND_LIMIT,
  SOAK_RSS_GROWTH_LIMIT,
  soakVerdict,
} from '../src/soak.js';

const MiB = 1024 * 1024;

describe('soak verdict', () => {
  const ok = {
    rssStartMb: 100,
    rssEndMb: 110,
    retainedMidMb: 60,
    retainedEndMb: 40,
    eventLoopP99Ms: 12,
    timerLagP99Ms: 15,
  };

  it('passes bounded growth and delay', () => {
    expect(soakVerdict(ok)).toEqual([]);
    const high = 100 + SOAK_RSS_GROWTH_LIMIT / MiB;
    expect(soakVerdict({ ...ok, rssEndMb: high })).toEqual([]);
  });

  it('an RSS peak late in a slow run passes; retained memory climbing through the second half fails', () => {
    // the allocator's high-water mark: RSS stays up after a late peak, retained memory does not
    expect(soakVerdict({ ...ok, rssEndMb: 160, retainedMidMb: 60, retainedEndMb: 55 })).toEqual([]);
    expect(soakVerdict({ ...ok, retainedEndMb: 60 + SOAK_RETAINED_TREND_LIMIT / MiB })).toEqual([]);
    const climbing = soakVerdict({
      ...ok,
      retainedMidMb: 60,
      retainedEndMb: 61 + SOAK_RETAINED_TREND_LIMIT / MiB,
    });
    expect(climbing).toHaveLength(1);
    expect(climbing[0]).toMatch(/still climbing/);
  });

  it('fails RSS growth over the limit, event-loop delay or timer lag over the limit', () => {
    const grown = 101 + SOAK_RSS_GROWTH_LIMIT / MiB;
    expect(soakVerdict({ ...ok, rssEndMb: grown })[0]).toMatch(/RSS grew/);
    expect(soakVerdict({ ...ok, eventLoopP99Ms: SOAK_LOOP_P99_LIMIT_MS + 1 })[0]).toMatch(/event-loop p99/);
    expect(soakVerdict({ ...ok, timerLagP99Ms: SOAK_LOOP_P99_LIMIT_MS + 1 })[0]).toMatch(/timer lag p99/);
  });
});

describe('quantile', () => {
  it('is the nearest-rank quantile', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(quantile([...values], 0.99)).toBe(99);
    expect(quantile([...values], 0.5)).toBe(50);
    expect(quantile([...values], 1)).toBe(100);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.99)).toBe(0);
  });
});
