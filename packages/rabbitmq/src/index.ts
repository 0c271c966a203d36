import { ConnectionError, createBus, type EventBus, redact, safeCause } from '@omnibus/core';
import { Connection } from 'rabbitmq-client';
import { type RabbitMqBusOptions, resolveRabbitMqOptions } from './options.js';
import { RabbitMqDriver } from './rabbitmq-driver.js';

export type { RabbitMqBusOptions } from './options.js';

// `@omnibus/factory` types `createEventBus({ backend: 'rabbitmq', … })` and the `rabbitmq`
// block of `createEventBusFromEnv` with these options, once this package's types are in the program.
declare module '@omnibus/core' {
  interface BackendOptionsRegistry {
    /** `createRabbitMqBus` options. */
    rabbitmq: RabbitMqBusOptions;
  }
}

/**
 * Connects to RabbitMQ and returns a bus over one durable topic exchange: a subject is a
 * routing key, a group a durable quorum queue bound with its pattern, an ungrouped
 * subscription a queue of its own removed on close. Publishes wait for the broker's
 * confirm; delayed redeliveries go through per-delay TTL queues. The client reconnects by
 * itself and consumers resume. Rejects with a credential-free `ConnectionError` when the
 * broker cannot be reached or refuses the credentials.
 */
export async function createRabbitMqBus(options: RabbitMqBusOptions = {}): Promise<EventBus> {
  const resolved = resolveRabbitMqOptions(options);
  const connection = new Connection({
    connectionName: 'omnibus',
    ...resolved.connectionOptions,
    url: resolved.url,
  });
  let firstError: unknown;
  const onError = (error: unknown) => {
    firstError ??= error;
  };
  connection.on('error', onError);
  try {
    await connection.onConnect(resolved.connectTimeoutMs, true);
  } catch (error) {
    connection.unsafeDestroy();
    const reason = (firstError as Error)?.message ?? (error as Error)?.message ?? String(error);
    throw new ConnectionError(`cannot connect to ${redact(resolved.url)}: ${redact(reason)}`, {
      backend: 'rabbitmq',
      cause: safeCause(firstError ?? error),
    });
  } finally {
    connection.off('error', onError);
  }
  const driver = new RabbitMqDriver(connection, resolved);
  return createBus(driver, {
    logger: resolved.logger,
    onStatus: resolved.onStatus,
    subscribeTimeoutMs: resolved.publishTimeoutMs,
    delivery: resolved.delivery,
  });
}
