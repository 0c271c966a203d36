// A wildcard group over more subjects (streams) than one bounded read or one reclaim script
// looks at: every message is still read, and a crashed member's entries on any stream are
// taken over.
import { waitFor } from '@omnibus/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { prefixedBus } from './redis-bus.js';

const SUBJECTS = 1_200; // over READ_WINDOW (500) and RECLAIM_STREAMS (200)
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function setUp() {
  const { bus, client, keyPrefix } = await prefixedBus(cleanups);
  const publishAll = async () => {
    for (let i = 0; i < SUBJECTS; i += 400) {
      const entries = [];
      for (let j = i; j < Math.min(SUBJECTS, i + 400); j++)
        entries.push({ subject: `many.s${j}.x`, payload: `m${j}` });
      await bus.publishBatch(entries);
    }
  };
  return { bus, client, keyPrefix, publishAll };
}

describe(`redis: a wildcard group over ${SUBJECTS} subjects`, () => {
  it('reads every message once, whichever stream it is on', async () => {
    const { bus, publishAll } = await setUp();
    await publishAll();
    const seen = new Map<string, number>();
    const c = await bus.consume('many.*.x', (m) => void seen.set(m.text(), (seen.get(m.text()) ?? 0) + 1), {
      group: 'g',
      from: 'earliest',
      maxInFlight: 100,
    });
    cleanups.push(() => c.close());
    await waitFor(() => seen.size === SUBJECTS, `all ${SUBJECTS} read`, 30_000);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    // and one published afterwards on a stream far down the list comes too
    await bus.publish(`many.s${SUBJECTS - 1}.x`, 'late');
    await waitFor(() => seen.has('late'), 'the late one read', 10_000);
  }, 60_000);

  it("takes over a crashed member's entry on a stream past the first reclaim chunk", async () => {
    const { bus, client, keyPrefix, publishAll } = await setUp();
    await publishAll();
    const handled: string[] = [];
    const options = { group: 'g', from: 'earliest' as const, ackTimeoutMs: 1_000 };
    const first = await bus.consume('many.*.x', (m) => void handled.push(m.text()), options);
    await waitFor(() => handled.length === SUBJECTS, `all ${SUBJECTS} handled`, 30_000);
    await first.close();
    // a member that read one entry and crashed: it stays pending for a consumer nobody runs
    const victim = `many.s${SUBJECTS - 7}.x`;
    await bus.publish(victim, 'orphan');
    const stream = `{${keyPrefix}}:s:${victim}`;
    const read = await client.xreadgroup('GROUP', 'g', 'ghost', 'COUNT', 1, 'STREAMS', stream, '>');
    expect(read).not.toBeNull();
    const again: string[] = [];
    const second = await bus.consume('many.*.x', (m) => void again.push(`${m.text()}@${m.attempt}`), options);
    cleanups.push(() => second.close());
    await waitFor(() => again.includes('orphan@2'), 'the orphan taken over', 20_000);
    expect(again).toEqual(['orphan@2']);
  }, 60_000);
});
