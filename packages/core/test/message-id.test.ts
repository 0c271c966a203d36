import { describe, expect, it } from 'vitest';
import { generateId } from '../src/index.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('generateId', () => {
  it('makes well-formed UUIDv7 ids that sort in creation order, whatever clock the caller passes', () => {
    const now = Date.now();
    const clocks = [
      now,
      now + 0.7,
      now - 5_000,
      Number.NaN,
      now + 1,
      12.5,
      now + 1,
      Number.POSITIVE_INFINITY,
    ];
    const ids = clocks.map((clock) => generateId(clock));
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect([...ids].sort()).toEqual(ids); // a stale, fractional or missing time never goes back
    expect(new Set(ids).size).toBe(ids.length);
    expect(generateId() > (ids.at(-1) as string)).toBe(true);
  });
});
