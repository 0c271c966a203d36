import { ConnectionError, createBus, type EventBus, redact, safeCause } from '@omnibus/core';
import { Connection } from 'rabbitmq-client';
import { type RabbitMqBusOptions, resolveRabbitMqOptions } from './options.js';
import { preflight } from './preflight.js';
import { RabbitMqDriver } from './rabbitmq-driver.js';

export type { RabbitMqBusOptions } from './options.js';

/** Connection errors that no retry can fix: refused credentials, a vhost the user may not open. */
const REFUSALS = new Set(['ACCESS_REFUSED', 'NOT_ALLOWED']);

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
 * routing key, a group a durable queue (classic, or quorum with `queueType`) bound with its pattern, an ungrouped
 * subscription a queue of its own removed on close. Publishes wait for the broker's
 * confirm; delayed redeliveries go through per-delay TTL queues. The client reconnects by
 * itself and consumers resume. Rejects with a credential-free `ConnectionError` when the
 * broker cannot be reached or refuses the credentials.
 */
export async function createRabbitMqBus(options: RabbitMqBusOptions = {}): Promise<EventBus> {
  const resolved = resolveRabbitMqOptions(options);
  try {
    await preflight(
      resolved.url,
      resolved.connectionOptions.hosts,
      resolved.connectionOptions.tls,
      resolved.connectTimeoutMs,
    );
  } catch (error) {
    throw new ConnectionError(
      `cannot connect to ${redact(resolved.url)}: ${redact((error as Error)?.message ?? String(error))}`,
      { backend: 'rabbitmq', cause: safeCause(error) },
    );
  }
  const connection = new Connection({
    connectionName: 'omnibus',
    // reconnect attempts 100 ms apart, doubling up to 2 s (the client's own ceiling is 30 s): a
    // broker back from an outage is found within 2 s
    retryLow: 100,
    retryHigh: 2_000,
    // small frames (an ack, a publish) go out at once: with Nagle's algorithm an ack written after
    // a handler could wait for the peer's delayed ACK (a 40 ms p99 in the bench)
    noDelay: true,
    ...resolved.connectionOptions,
    url: resolved.url,
  });
  let firstError: unknown;
  let refusal: unknown;
  let refused: (error: unknown) => void = () => undefined;
  const onError = (error: unknown) => {
    firstError ??= error;
    // wrong credentials or a vhost the user may not use: trying again cannot help
    if (REFUSALS.has(String((error as { code?: unknown })?.code))) {
      refusal ??= error;
      refused(error);
    }
  };
  connection.on('error', onError);
  try {
    await Promise.race([
      connection.onConnect(resolved.connectTimeoutMs, true),
      new Promise<never>((_, reject) => {
        refused = reject;
      }),
    ]);
  } catch (error) {
    connection.unsafeDestroy();
    // a refusal says more than a host of `hosts` that was down before it
    const failure = refusal ?? firstError ?? error;
    // rabbitmq-client prefixes a connection.close reply with the method it could not name
    const reason = String((failure as Error)?.message ?? failure).replace(/^undefined: /, '');
    const code = String((failure as { code?: unknown })?.code);
    throw new ConnectionError(`cannot connect to ${redact(resolved.url)}: ${redact(reason)}`, {
      backend: 'rabbitmq',
      cause: safeCause(failure),
      hint:
        code === 'ACCESS_REFUSED'
          ? 'check the user name and password in the URL (RabbitMQ lets guest in from localhost only)'
          : code === 'NOT_ALLOWED'
            ? "the user may not use this vhost: grant it with rabbitmqctl set_permissions -p <vhost> <user> '.*' '.*' '.*'"
            : undefined,
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
