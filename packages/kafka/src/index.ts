import { createBus, type EventBus } from '@omnibus/core';
import { connectClients, kafkaClient } from './connection.js';
import { severable } from './disconnected-client.js';
import { KafkaDriver } from './kafka-driver.js';
import { type KafkaBusOptions, resolveKafkaOptions } from './options.js';
import { StatusReporter } from './status-reporter.js';
import { TopicRegistry } from './topics.js';
import { trackedAdmin } from './tracked-admin.js';

export type { KafkaBusOptions, KafkaBusStatus, KafkaTopicSettings } from './options.js';
export { DEFAULT_KAFKA_MAX_PAYLOAD } from './options.js';

// `@omnibus/factory` types `createEventBus({ backend: 'kafka', … })` and the `kafka` block of
// `createEventBusFromEnv` with these options, once this package's types are in the program.
declare module '@omnibus/core' {
  interface BackendOptionsRegistry {
    /** `createKafkaBus` options. */
    kafka: KafkaBusOptions;
  }
}

/**
 * Connects to Kafka (or uses `options.kafka`) and returns a bus: a topic per
 * subject's first token (message key = subject, so a subject stays on one
 * partition), consumer groups committing only after ack, non-blocking retries
 * through retry topics, emulated wildcards, dead-letter by Omnibus. Kafka has no
 * publisher-id dedupe: `capabilities.dedupe` is false. Rejects with a
 * credential-free `ConnectionError` when no broker answers.
 */
export async function createKafkaBus(options: KafkaBusOptions = {}): Promise<EventBus> {
  const resolved = resolveKafkaOptions(options);
  const reporter = new StatusReporter();
  // what the client logs reaches the bus's status until the bus is closed or its create failed:
  // the client's objects outlive their disconnect (disconnected-client.ts) and must not keep the bus alive
  const statusLink = severable(reporter.report);
  const kafka = kafkaClient(resolved, statusLink.callback);
  const { admin, producer } = await connectClients(
    kafka,
    resolved,
    () => reporter.lastError,
    statusLink.sever, // a failed create: what the client says afterwards is not reported
  );
  const tracked = trackedAdmin(admin);
  const driver = new KafkaDriver(
    kafka,
    tracked,
    producer,
    new TopicRegistry(tracked.admin, resolved),
    resolved,
    reporter,
    statusLink.sever,
  );
  return createBus(driver, {
    logger: resolved.logger,
    onStatus: resolved.onStatus,
    subscribeTimeoutMs: resolved.publishTimeoutMs,
    delivery: resolved.delivery,
  });
}
