import { InvalidArgumentError } from 'commander';

import { describe, expect, it } from 'vitest';
import { parseTime } from '../src/parse.js';

describe('parseTime', () => {
  it('reads ISO times (UTC without a zone, as everything shown is), epoch ms and durations ago', () => {
    expect(parseTime('2026-12-06T10:00:00Z')).toBe(Date.UTC(2026, 11, 6, 10));
    expect(parseTime('2026-12-06T10:00')).toBe(Date.UTC(2026, 11, 6, 10));
    expect(parseTime('2026-12-06T10:00:00.5')).toBe(Date.UTC(2026, 11, 6, 10, 0, 0, 500));
    expect(parseTime('2026-12-06T10:00:00+01:00')).toBe(Date.UTC(2026, 11, 6, 9));
    expect(parseTime('2026-12-06')).toBe(Date.UTC(2026, 11, 6));
    expect(parseTime('1796551200000')).toBe(1_796_551_200_000);
    expect(parseTime('15m', 1_000_000)).toBe(100_000);
  });

  it('epoch seconds are refused with the milliseconds to give instead, not read as January 1970', () => {
    expect(() => parseTime('1796551200')).toThrow(InvalidArgumentError);
    expect(() => parseTime('1796551200')).toThrow('1796551200000');
    expect(() => parseTime('yesterday')).toThrow(InvalidArgumentError);
  });
});
