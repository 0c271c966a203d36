import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ResponsivenessWatch, watchResponsiveness } from '../src/responsiveness.js';

/** Probes the test settles by hand, and what the watch said. */
function harness(overrides: Partial<ResponsivenessWatch> = {}) {
  const pending: { resolve(): void; reject(error: Error): void }[] = [];
  const said: string[] = [];
  const watcher = watchResponsiveness({
    probe: () =>
      new Promise<void>((resolve, reject) => {
        pending.push({ resolve, reject });
      }),
    everyMs: 1_000,
    unresponsiveAfterMs: 3_000,
    onUnresponsive: (detail) => said.push(`unresponsive: ${detail}`),
    onResponsive: () => said.push('responsive'),
    ...overrides,
  });
  return { pending, said, watcher };
}

describe('watchResponsiveness', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says unresponsive once nothing has answered for the limit, responsive once at the next answer', async () => {
    const { pending, said, watcher } = harness();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(pending).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(said).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(said).toEqual(['unresponsive: no answer for 3000 ms']);
    // one probe at a time by default, and the spell is reported once
    await vi.advanceTimersByTimeAsync(5_000);
    expect(pending).toHaveLength(1);
    expect(said).toHaveLength(1);
    pending[0]?.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(said.at(-1)).toBe('responsive');
    await vi.advanceTimersByTimeAsync(1_000);
    pending[1]?.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(said).toEqual(['unresponsive: no answer for 3000 ms', 'responsive']);
    watcher.stop();
  });

  it('a refused probe is not an outage by itself; refusals for the whole limit are, with the reason', async () => {
    const { pending, said, watcher } = harness();
    await vi.advanceTimersByTimeAsync(1_000);
    pending[0]?.reject(new Error('ECONNRESET'));
    await vi.advanceTimersByTimeAsync(1_000);
    pending[1]?.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(said).toEqual([]);
    for (let i = 2; i < 6; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      pending[i]?.reject(new Error('ECONNREFUSED'));
    }
    await vi.advanceTimersByTimeAsync(1_000);
    expect(said).toEqual(['unresponsive: no answer for 3000 ms (last probe: ECONNREFUSED)']);
    watcher.stop();
  });

  it('with several probes allowed, an answer to a later one counts while an earlier one still waits', async () => {
    const { pending, said, watcher } = harness({ maxOutstanding: 3 });
    await vi.advanceTimersByTimeAsync(1_000); // probe 0: a paused broker, never answered
    for (let i = 1; i < 8; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      pending[i]?.resolve();
    }
    await vi.advanceTimersByTimeAsync(0);
    expect(pending.length).toBeGreaterThan(2);
    expect(said).toEqual([]);
    watcher.stop();
  });

  it('sends no probe while the client is not ready, and counts other answers', async () => {
    let ready = false;
    const { pending, said, watcher } = harness({ ready: () => ready });
    await vi.advanceTimersByTimeAsync(2_000);
    watcher.answered();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(said).toEqual([]);
    expect(pending).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(said).toEqual(['unresponsive: no answer for 3000 ms']);
    ready = true;
    await vi.advanceTimersByTimeAsync(1_000);
    pending[0]?.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(said.at(-1)).toBe('responsive');
    watcher.stop();
  });

  it('says nothing after stop, even when an outstanding probe settles', async () => {
    const { pending, said, watcher } = harness();
    await vi.advanceTimersByTimeAsync(4_000);
    expect(said).toHaveLength(1);
    watcher.stop();
    pending[0]?.resolve();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(said).toHaveLength(1);
  });

  it('treats a probe that throws synchronously as refused', async () => {
    const { said, watcher } = harness({
      probe: () => {
        throw new Error('client closed');
      },
    });
    await vi.advanceTimersByTimeAsync(4_000);
    expect(said).toEqual(['unresponsive: no answer for 3000 ms (last probe: client closed)']);
    watcher.stop();
  });
});
