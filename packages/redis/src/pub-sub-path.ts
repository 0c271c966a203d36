// Redis's at-most-once path: Pub/Sub, not the streams. A publish is one PUBLISH (resolved on the
// server's reply, nothing stored); a subscription is a PSUBSCRIBE on a connection of its own for
// the bus, filtered by core's matcher (Redis globs let `*` cross dots). What is published while a
// subscriber is disconnected is missed. Pub/Sub has no shared subscriptions: no groups at this
// level. The two levels do not meet: an at-most-once subscriber sees at-most-once publishes only,
// an at-least-once one stream entries only.
import type {
  DeliverySink,
  DriverReceipt,
  DriverSubscribeRequest,
  DriverSubscription,
  Headers,
  OutgoingMessage,
} from '@omnibus/core';
import {
  AT_MOST_ONCE_RECEIPT,
  atMostOnceDelivery,
  PublishError,
  safeCause,
  subjectMatches,
} from '@omnibus/core';
import type { AnyRedis } from './connection.js';
import { blockingClient } from './connection.js';

/** `[4-byte length][{"i","t","h"} JSON][payload]`: one Pub/Sub message. */
function encodeFrame(message: OutgoingMessage): Buffer {
  const meta = Buffer.from(JSON.stringify({ i: message.id, t: message.publishedAt, h: message.headers }));
  const frame = Buffer.allocUnsafe(4 + meta.length + message.payload.length);
  frame.writeUInt32BE(meta.length, 0);
  meta.copy(frame, 4);
  frame.set(message.payload, 4 + meta.length);
  return frame;
}

function decodeFrame(frame: Buffer): {
  id: string;
  publishedAt: number;
  headers: Headers;
  payload: Uint8Array;
} {
  const length = frame.readUInt32BE(0);
  const meta = JSON.parse(frame.subarray(4, 4 + length).toString()) as { i: string; t: number; h: Headers };
  const payload = frame.subarray(4 + length);
  return {
    id: meta.i,
    publishedAt: meta.t,
    headers: meta.h,
    payload: new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength),
  };
}

/** A subject pattern as a Redis glob (literal glob characters escaped); core's matcher decides. */
function globOf(pattern: string): string {
  return pattern
    .split('.')
    .map((token) => (token === '*' || token === '>' ? '*' : token.replace(/[*?[\]\\]/g, '\\$&')))
    .join('.');
}

/** The Pub/Sub side of one Redis bus: one subscriber connection, shared by its subscriptions. */
export class PubSubPath {
  readonly #client: AnyRedis;
  readonly #prefix: string;
  /** glob → the subscriptions on it (pattern, sink). */
  readonly #byGlob = new Map<string, Set<{ pattern: string; sink: DeliverySink }>>();
  #subscriber: ReturnType<typeof blockingClient> | undefined;

  constructor(client: AnyRedis, tag: string) {
    this.#client = client;
    this.#prefix = `${tag}:pubsub:`;
  }

  /** PUBLISH: resolved on the server's reply; nothing is stored. */
  async publish(message: OutgoingMessage): Promise<DriverReceipt> {
    try {
      await this.#client.publish(`${this.#prefix}${message.subject}`, encodeFrame(message));
    } catch (error) {
      throw new PublishError(`publish to "${message.subject}" failed`, {
        backend: 'redis',
        cause: safeCause(error),
      });
    }
    return AT_MOST_ONCE_RECEIPT;
  }

  /** PSUBSCRIBE (once per glob), resolved once the server confirmed it. */
  async subscribe(request: DriverSubscribeRequest): Promise<DriverSubscription> {
    const subscriber = await this.#connect();
    const glob = `${this.#prefix}${globOf(request.pattern)}`;
    const entry = { pattern: request.pattern, sink: request.sink };
    let set = this.#byGlob.get(glob);
    if (!set) {
      set = new Set();
      this.#byGlob.set(glob, set);
      await subscriber.psubscribe(glob);
    }
    set.add(entry);
    return {
      stop: async () => {
        const current = this.#byGlob.get(glob);
        if (!current?.delete(entry) || current.size > 0) return;
        this.#byGlob.delete(glob);
        await subscriber.punsubscribe(glob).catch(() => undefined);
      },
    };
  }

  async #connect(): Promise<ReturnType<typeof blockingClient>> {
    if (this.#subscriber) return this.#subscriber;
    const subscriber = blockingClient(this.#client);
    this.#subscriber = subscriber;
    subscriber.on('pmessageBuffer', (glob: Buffer, channel: Buffer, frame: Buffer) => {
      const set = this.#byGlob.get(glob.toString());
      if (!set) return;
      const subject = channel.toString().slice(this.#prefix.length);
      let decoded: ReturnType<typeof decodeFrame> | undefined;
      for (const { pattern, sink } of set) {
        if (!subjectMatches(pattern, subject)) continue;
        try {
          decoded ??= decodeFrame(frame);
        } catch (error) {
          sink.reportError(error); // not an Omnibus frame
          continue;
        }
        sink.push(atMostOnceDelivery({ ...decoded, subject }));
      }
    });
    await subscriber.connect();
    return subscriber;
  }

  /** Closes the subscriber connection. */
  close(): void {
    this.#byGlob.clear();
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
  }
}
