/**
 * The attribute and instrument names used, from the OpenTelemetry semantic conventions for
 * messaging (status: Development; names as of semantic-conventions 1.45). Written out here rather
 * than imported from the conventions' incubating entry point, which may change in any release.
 */
export const ATTR = {
  system: 'messaging.system',
  operationName: 'messaging.operation.name',
  operationType: 'messaging.operation.type',
  destinationName: 'messaging.destination.name',
  destinationTemplate: 'messaging.destination.template',
  consumerGroup: 'messaging.consumer.group.name',
  messageId: 'messaging.message.id',
  batchCount: 'messaging.batch.message_count',
  errorType: 'error.type',
  /** Not in the conventions (no generic attribute exists): the delivery attempt, 1 on first delivery. */
  attempt: 'omnibus.delivery.attempt',
  /** Not in the conventions: how a delivery was settled (acked, nakked, dead-lettered, released, refused). */
  outcome: 'omnibus.settle.outcome',
  /** Not in the conventions: where a dead letter went. */
  deadLetterSubject: 'omnibus.dead_letter.subject',
} as const;

export const METRIC = {
  operationDuration: 'messaging.client.operation.duration',
  sent: 'messaging.client.sent.messages',
  consumed: 'messaging.client.consumed.messages',
  processDuration: 'messaging.process.duration',
  /** Not in the conventions. */
  deadLettered: 'omnibus.messages.dead_lettered',
  /** Not in the conventions. */
  redelivered: 'omnibus.messages.redelivered',
  /** Not in the conventions: messages of a group's subjects not delivered yet. */
  lag: 'omnibus.consumer.lag',
} as const;

/**
 * `messaging.system` per backend: `kafka` is a value of the conventions; NATS JetStream, Redis
 * Streams and the memory bus have none, so they get `nats`, `redis` and `memory` (custom values,
 * as the conventions allow). A third-party adapter's backend name is used as it is.
 */
export function messagingSystem(backend: string): string {
  return backend;
}

/** The settle operation name for each outcome (`messaging.operation.name` of a settle span). */
export const SETTLE_OPERATION: Record<string, string> = {
  acked: 'ack',
  nakked: 'nack',
  'dead-lettered': 'dead_letter',
  released: 'release',
  refused: 'refused',
};

/** `error.type`: an Omnibus error's code (`TIMEOUT`, `PUBLISH_FAILED`, …), else the error's name. */
export function errorType(error: unknown): string {
  if (error !== null && typeof error === 'object') {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0 && code.length <= 64) return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name.length > 0 && name.length <= 64) return name;
  }
  return '_OTHER';
}
