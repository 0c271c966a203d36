import { settledWithin, withTimeout } from '@omnibus/core';

/** A client of `@confluentinc/kafka-javascript`'s KafkaJS API: producer, consumer or admin. */
interface ConnectingClient {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

/** The client's node-rdkafka client under its KafkaJS layer, where the client has that accessor. */
interface WithInternalClient {
  _getInternalClient?():
    | {
        removeAllListeners(event: string): unknown;
        once(event: string, listener: () => void): unknown;
        disconnect(): unknown;
      }
    | null
    | undefined;
}

/**
 * Connects `clients` together within `ms`; on a failure or the timeout, disconnects every one of
 * them (`beforeDisconnect` first; waiting at most `disconnectWaitMs`) and rejects — with `message` on the timeout.
 *
 * A connect the bus gave up on goes on inside the client (bootstrap, metadata). When it then
 * succeeds on a client already disconnecting, the client's `ready` listener throws "Ready callback
 * called in invalid state" from an async function: an unhandled rejection, which ends a Node
 * process by default (the client's own TODO: it does not handle a disconnect while connecting).
 * So a client whose connect has not settled first loses its `ready` listeners, through the
 * client's internal accessor; that connect's promise then never settles, and nothing waits for it.
 */
export async function connectWithin(
  clients: readonly ConnectingClient[],
  ms: number,
  message: string,
  disconnectWaitMs: number,
  beforeDisconnect: () => void = () => undefined,
): Promise<void> {
  const settled = clients.map(() => false);
  const connecting = clients.map((c, i) =>
    c.connect().finally(() => {
      settled[i] = true;
    }),
  );
  try {
    await withTimeout(Promise.all(connecting), ms, message);
  } catch (error) {
    beforeDisconnect();
    await Promise.all(
      clients.map((c, i) => disconnectUnsettled(c, () => settled[i] === true, disconnectWaitMs)),
    );
    throw error;
  }
}

async function disconnectUnsettled(
  client: ConnectingClient,
  settled: () => boolean,
  waitMs: number,
): Promise<void> {
  if (!settled()) {
    try {
      const internal = (client as WithInternalClient)._getInternalClient?.();
      internal?.removeAllListeners('ready');
      // the client may not take a disconnect yet ("not connected"): should it connect after all,
      // it is disconnected then, rather than left running
      internal?.once('ready', () => {
        try {
          internal.disconnect();
        } catch {
          // already on its way down
        }
      });
    } catch {
      // an accessor that changed: the disconnect below still runs
    }
  }
  await settledWithin(
    client.disconnect().catch(() => undefined),
    waitMs,
  );
}
