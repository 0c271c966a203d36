import { describe, expect, it } from 'vitest';
import {
  quantile,
  SOAK_LOOP_P99_LIMIT_MS,
  SOAK_RSS_GROWTH_LIMIT,
  SOAK_RSS_TREND_LIMIT,
  soakVerdict,
} from '../src/soak.js';

const MiB = 1024 * 1024;

describe('soak verdict', () => {
  const ok = {
    rssStartMb: 100,
    rssFirstHalfPeakMb: 105,
    rssEndMb: 110,
    eventLoopP99Ms: 12,
    timerLagP99Ms: 15,
  };

  it('passes bounded growth and delay', () => {
    expect(soakVerdict(ok)).toEqual([]);
    const high = 100 + SOAK_RSS_GROWTH_LIMIT / MiB;
    expect(soakVerdict({ ...ok, rssFirstHalfPeakMb: high, rssEndMb: high })).toEqual([]);
  });

  it('a plateau reached in the first half passes; a climb through the second half fails', () => {
    expect(soakVerdict({ ...ok, rssFirstHalfPeakMb: 170, rssEndMb: 160 })).toEqual([]);
    const climbing = soakVerdict({
      ...ok,
      rssFirstHalfPeakMb: 130,
      rssEndMb: 131 + SOAK_RSS_TREND_LIMIT / MiB,
    });
    expect(climbing).toHaveLength(1);
    expect(climbing[0]).toMatch(/still climbing/);
    // no sample in the first half: the start stands in for its peak
    expect(
      soakVerdict({ ...ok, rssFirstHalfPeakMb: 0, rssEndMb: 101 + SOAK_RSS_TREND_LIMIT / MiB })[0],
    ).toMatch(/still climbing/);
  });

  it('fails RSS growth over the limit, event-loop delay or timer lag over the limit', () => {
    const grown = 101 + SOAK_RSS_GROWTH_LIMIT / MiB;
    expect(soakVerdict({ ...ok, rssFirstHalfPeakMb: grown, rssEndMb: grown })[0]).toMatch(/RSS grew/);
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
