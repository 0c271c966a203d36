import { ConnectionError, createBus, type EventBus, safeCause } from '@omnibus/core';
import { detectDurable, disconnectNow, openClient, safeUrl, watchClient } from './connection.js';
import { type RedisBusOptions, resolveRedisOptions } from './options.js';
import { RedisDriver } from './redis-driver.js';
import { isAuthError } from './redis-errors.js';

export type { RedisBusOptions, RedisBusStatus, RedisTrimOptions } from './options.js';

// `@omnibus/factory` types `createEventBus({ backend: 'redis', … })` and the `redis` block of
// `createEventBusFromEnv` with these options, once this package's types are in the program.
declare module '@omnibus/core' {
  interface BackendOptionsRegistry {
    /** `createRedisBus` options. */
    redis: RedisBusOptions;
  }
}

/**
 * Connects to Redis (or adopts `options.client`) and returns a bus over Redis
 * Streams: a stream per subject under a key prefix, consumer groups for `group`
 * and for each ungrouped subscription (removed on close), wildcards emulated
 * through a subject registry, dedupe atomic with `XADD`, delayed redelivery and
 * reclaim of entries a gone member held. Rejects with a credential-free
 * `ConnectionError` when the server cannot be reached or refuses the credentials.
 */
export async function createRedisBus(options: RedisBusOptions = {}): Promise<EventBus> {
  const resolved = resolveRedisOptions(options);
  const { client, owned } = await openClient(resolved);
  let durable: boolean;
  try {
    durable = resolved.durable ?? (await detectDurable(client));
  } catch (error) {
    if (owned) disconnectNow(client);
    const what = isAuthError(error) ? 'the server refused the credentials' : 'the server did not answer INFO';
    throw new ConnectionError(`cannot use ${safeUrl(resolved.url)}: ${what}`, {
      backend: 'redis',
      cause: safeCause(error),
    });
  }
  const driver = new RedisDriver(client, owned, resolved, durable);
  driver.stopWatching = watchClient(client, 'connection', driver.report, true);
  return createBus(driver, {
    logger: resolved.logger,
    onStatus: resolved.onStatus,
    subscribeTimeoutMs: resolved.publishTimeoutMs,
    delivery: resolved.delivery,
  });
}
