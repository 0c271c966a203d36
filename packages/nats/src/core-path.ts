// NATS's at-most-once path: core NATS publish and subscribe, no JetStream. A core publish is
// handed to the client and resolved at once (no server ack); a stream whose subjects cover it
// still stores it, so at-least-once subscribers get it too. A core subscription (a queue group
// for a group) sees every publish on its subjects, core or JetStream, while it is connected:
// what is published during a disconnection is missed, never replayed.
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type {
  DriverReceipt,
  DriverSubscribeRequest,
  DriverSubscription,
  OutgoingMessage,
} from '@omnibus/core';
import { AT_MOST_ONCE_RECEIPT, atMostOnceDelivery, PublishError, safeCause } from '@omnibus/core';
import { decodeHeaders, encodeHeaders } from './envelope.js';

/** Publishes `message` with core NATS: resolved once the client has it. */
export function publishCore(nc: NatsConnection, message: OutgoingMessage): DriverReceipt {
  try {
    nc.publish(message.subject, message.payload, {
      headers: encodeHeaders(message.headers, message.id, message.publishedAt),
    });
  } catch (error) {
    throw new PublishError(`publish to "${message.subject}" failed`, {
      backend: 'nats',
      cause: safeCause(error),
    });
  }
  return AT_MOST_ONCE_RECEIPT;
}

/**
 * A core NATS subscription (a queue group for a group) pushing every message into the sink;
 * resolved once the server has it (a flush), so a publish after it is received.
 */
export async function subscribeCore(
  nc: NatsConnection,
  request: DriverSubscribeRequest,
): Promise<DriverSubscription> {
  const { sink } = request;
  const sub: Subscription = nc.subscribe(request.pattern, {
    ...(request.group === undefined ? {} : { queue: request.group }),
    callback: (error, m) => {
      if (error) {
        sink.reportError(error);
        return;
      }
      const { headers, id, publishedAt } = decodeHeaders(m.headers);
      sink.push(
        atMostOnceDelivery({
          // a foreign core publish carries no Omnibus id: one is made up (at most once, never deduplicated)
          id: id ?? `core-${globalThis.crypto.randomUUID()}`,
          subject: m.subject,
          payload: m.data,
          headers,
          publishedAt: publishedAt ?? Date.now(),
        }),
      );
    },
  });
  await nc.flush();
  return {
    stop: async () => {
      sub.unsubscribe();
    },
  };
}
