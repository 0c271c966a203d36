// A grouped member closed while its handler still runs: the handler's ack (sent with the acks
// of its turn) is answered before the member's clean-up looks at what it holds, so the member
// leaves the group's consumer list.
import { waitFor } from '@omnibus/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { prefixedBus } from './redis-bus.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('redis: closing a grouped member while handlers run', () => {
  it('acks what the handlers finish, then removes the member from the group', async () => {
    const { bus, client, keyPrefix } = await prefixedBus(cleanups);
    let started = 0;
    let finished = 0;
    const member = await bus.consume(
      'close.x',
      async () => {
        started++;
        await new Promise((resolve) => setTimeout(resolve, 200));
        finished++;
      },
      { group: 'workers', maxInFlight: 5 },
    );
    for (let i = 0; i < 5; i++) await bus.publish('close.x', `m${i}`);
    await waitFor(() => started === 5, 'five handlers running', 5_000);
    await member.close();
    expect(finished).toBe(5);
    const stream = `{${keyPrefix}}:s:close.x`;
    let pending = -1;
    let consumers: unknown[] = [];
    for (let i = 0; i < 60; i++) {
      pending = Number((await client.xpending(stream, 'workers'))[0]);
      consumers = (await client.xinfo('CONSUMERS', stream, 'workers')) as unknown[];
      if (pending === 0 && consumers.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(pending).toBe(0);
    expect(consumers).toEqual([]);
  });
});
