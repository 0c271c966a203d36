import { describe, expect, it } from 'vitest';
import { DedupeWindow } from '../src/dedupe-window.js';

describe('DedupeWindow', () => {
  it('remembers an id for the window and forgets it after', () => {
    const w = new DedupeWindow(1_000, 10);
    w.record('a', 0);
    expect(w.has('a', 999)).toBe(true);
    expect(w.has('a', 1_000)).toBe(false);
    expect(w.size).toBe(0);
  });

  it('keeps at most maxEntries ids, forgetting the oldest first', () => {
    const w = new DedupeWindow(60_000, 100_000);
    for (let i = 0; i < 300_000; i++) w.record(`id-${i}`, 1);
    expect(w.size).toBe(100_000);
    expect(w.has('id-199999', 2)).toBe(false);
    expect(w.has('id-200000', 2)).toBe(true);
    expect(w.has('id-299999', 2)).toBe(true);
  });

  it('an id recorded again is remembered from its last record', () => {
    const w = new DedupeWindow(1_000, 10);
    w.record('a', 0);
    w.record('b', 100);
    w.record('a', 500);
    expect(w.has('a', 1_200)).toBe(true);
    expect(w.has('b', 1_200)).toBe(false);
    expect(w.has('a', 1_500)).toBe(false);
  });

  it('a zero window remembers nothing', () => {
    const w = new DedupeWindow(0, 10);
    w.record('a', 0);
    expect(w.has('a', 0)).toBe(false);
    expect(w.size).toBe(0);
  });
});
