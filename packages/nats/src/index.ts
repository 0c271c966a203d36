import { createBus, type EventBus } from '@omnibus/core';
import { openConnection, watchStatus } from './connection.js';
import { NatsDriver } from './nats-driver.js';
import { type NatsBusOptions, resolveNatsOptions } from './options.js';

export type { NatsBusOptions, NatsBusStatus, StreamDefinition, StreamSettings } from './options.js';

// `@omnibus/factory` types `createEventBus({ backend: 'nats', … })` and the `nats` block of
// `createEventBusFromEnv` with these options, once this package's types are in the program.
declare module '@omnibus/core' {
  interface BackendOptionsRegistry {
    /** `createNatsBus` options. */
    nats: NatsBusOptions;
  }
}

/** The NATS JetStream bus: the `EventBus` contract plus access to what it provisioned. */
export interface NatsBus extends EventBus {
  /** Names of the streams this bus created (it never deletes them). */
  readonly createdStreams: readonly string[];
}

/**
 * Connects to NATS (or adopts `options.connection`), checks JetStream, and returns
 * a bus. Streams are provisioned on first use of a subject; groups are durable
 * pull consumers; ungrouped subscriptions are ephemeral pull consumers.
 * Rejects with `ConnectionError` (credential-free) when the server cannot be reached.
 */
export async function createNatsBus(options: NatsBusOptions = {}): Promise<NatsBus> {
  const resolved = resolveNatsOptions(options);
  const { nc, owned } = await openConnection(resolved);
  const driver = await NatsDriver.create(nc, owned, resolved);
  driver.stopWatching = watchStatus(nc, (status) => driver.report(status));
  const bus = createBus(driver, {
    logger: resolved.logger,
    onStatus: resolved.onStatus,
    subscribeTimeoutMs: resolved.publishTimeoutMs,
    delivery: resolved.delivery,
  });
  return Object.defineProperty(bus, 'createdStreams', {
    get: () => [...driver.streams.created],
    enumerable: true,
  }) as NatsBus;
}
