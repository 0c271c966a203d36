import { describe, expect, it } from 'vitest';
import { conformanceGroups, deferred, uniquePrefix, waitFor } from '../src/index.js';

describe('test helpers', () => {
  it('waitFor resolves when the condition holds and fails with a reason when it never does', async () => {
    let ready = false;
    setTimeout(() => {
      ready = true;
    }, 10);
    await waitFor(() => ready, 'ready');
    await expect(waitFor(() => false, 'the impossible', 30)).rejects.toThrow('waiting for the impossible');
  });

  it('deferred exposes resolve', async () => {
    const d = deferred<number>();
    d.resolve(7);
    expect(await d.promise).toBe(7);
  });

  it('unique prefixes are valid subject tokens and do not repeat', () => {
    const prefixes = new Set(Array.from({ length: 1000 }, uniquePrefix));
    expect(prefixes.size).toBe(1000);
    for (const p of prefixes) expect(p).toMatch(/^t[a-z0-9]+$/);
  });

  it('every capability-gated group names a real capability', () => {
    const known = [
      'durable',
      'replay',
      'groups',
      'dedupe',
      'delayedNak',
      'ordering',
      'management',
      'atMostOnce',
    ];
    for (const g of conformanceGroups) if (g.requires) expect(known).toContain(g.requires);
    expect(new Set(conformanceGroups.map((g) => g.name)).size).toBe(conformanceGroups.length);
  });
});
