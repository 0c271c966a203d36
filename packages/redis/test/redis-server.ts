import { Redis } from 'ioredis';

/** redis-server on a spare port, started and stopped by this test process (see @omnibus/testing). */
export { type LocalBroker as LocalRedisServer, startLocalRedis as startRedisServer } from '@omnibus/testing';

/** Deletes every key of a bus prefix (test clean-up). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
  await client.quit();
}
