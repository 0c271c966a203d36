// A bus on the shared test server under a key prefix of its own, with a raw client beside it;
// both go (and every key of the prefix with them) after the test.
import type { EventBus } from '@omnibus/core';
import { uniquePrefix } from '@omnibus/testing';
import { Redis } from 'ioredis';
import { createRedisBus } from '../src/index.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Creates the bus and client; `cleanups` gets what removes them. */
export async function prefixedBus(cleanups: (() => Promise<unknown>)[]) {
  const keyPrefix = uniquePrefix();
  const bus: EventBus = await createRedisBus({ url: REDIS_URL, keyPrefix });
  const client = new Redis(REDIS_URL);
  cleanups.push(
    async () => {
      const keys = await client.keys(`{${keyPrefix}}*`);
      for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
      client.disconnect();
    },
    () => bus.close({ timeoutMs: 2_000 }),
  );
  return { bus, client, keyPrefix };
}
