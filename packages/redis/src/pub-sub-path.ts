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
  settledWithin,
  subjectMatches,
} from '@omnibus/core';
import type { AnyRedis } from './connection.js';
import { blockingClient, directClient } from './connection.js';

const NO_HEADERS = Buffer.alloc(0);
/** Longest `close()` waits for the publisher's last answers before it drops the connection (ms). */
const CLOSE_WAIT_MS = 1_000;
/** The first byte of a frame: its format (a later format gets a new one). */
const FRAME_V1 = 0x01;

/**
 * One Pub/Sub message: `[format 0x01][2-byte id length][id, UTF-8][8-byte publishedAt, float64]
 * [4-byte headers length][headers as JSON, empty when there are none][payload]` — no JSON on the
 * common path.
 */
function encodeFrame(message: OutgoingMessage): Buffer {
  const id = Buffer.from(message.id);
  let headers = NO_HEADERS;
  for (const _ in message.headers) {
    headers = Buffer.from(JSON.stringify(message.headers));
    break;
  }
  const frame = Buffer.allocUnsafe(15 + id.length + headers.length + message.payload.length);
  frame[0] = FRAME_V1;
  let at = frame.writeUInt16BE(id.length, 1);
  at += id.copy(frame, at);
  at = frame.writeDoubleBE(message.publishedAt, at);
  at = frame.writeUInt32BE(headers.length, at);
  at += headers.copy(frame, at);
  frame.set(message.payload, at);
  return frame;
}

/** Reads a frame back; throws on anything that is not one (another publisher's message). */
function decodeFrame(frame: Buffer): {
  id: string;
  publishedAt: number;
  headers: Headers;
  payload: Uint8Array;
} {
  if (frame[0] !== FRAME_V1) throw new Error('not an Omnibus Pub/Sub frame');
  const idLength = frame.readUInt16BE(1);
  const id = frame.toString('utf8', 3, 3 + idLength);
  const publishedAt = frame.readDoubleBE(3 + idLength);
  const headersLength = frame.readUInt32BE(11 + idLength);
  const payloadAt = 15 + idLength + headersLength;
  if (idLength === 0 || payloadAt > frame.length || !Number.isFinite(publishedAt))
    throw new Error('not an Omnibus Pub/Sub frame');
  const headers = headersLength === 0 ? {} : readHeaders(frame.toString('utf8', 15 + idLength, payloadAt));
  return {
    id,
    publishedAt,
    headers,
    payload: new Uint8Array(frame.buffer, frame.byteOffset + payloadAt, frame.length - payloadAt),
  };
}

/** A frame's headers: an object of strings, or the frame is refused. */
function readHeaders(json: string): Headers {
  const headers = JSON.parse(json) as unknown;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers))
    throw new Error('not an Omnibus Pub/Sub frame: its headers are not an object');
  for (const value of Object.values(headers))
    if (typeof value !== 'string') throw new Error('not an Omnibus Pub/Sub frame: a header is not text');
  return headers as Headers;
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
  /** PUBLISH goes on a connection without auto-pipelining (made on first use): one round trip each. */
  #publisher: ReturnType<typeof directClient> | undefined;
  #closed = false;

  constructor(client: AnyRedis, tag: string) {
    this.#client = client;
    this.#prefix = `${tag}:pubsub:`;
  }

  /** PUBLISH: resolved on the server's reply; nothing is stored. */
  async publish(message: OutgoingMessage): Promise<DriverReceipt> {
    try {
      if (this.#closed) throw new Error('the bus is closed');
      this.#publisher ??= directClient(this.#client);
      await this.#publisher.publish(`${this.#prefix}${message.subject}`, encodeFrame(message));
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
    } else {
      // the glob is live already: a message published before this call may still be on its way to
      // the subscriber connection. A PING answered there comes after it, so the new subscription
      // is added only once everything published before it has gone by
      await subscriber.ping();
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
    const subscriber = blockingClient(this.#client, 'omnibus-pubsub');
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

  /** Closes the subscriber connection, and the publisher's once its publishes under way are answered. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#byGlob.clear();
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
    const publisher = this.#publisher;
    this.#publisher = undefined;
    if (publisher && !(await settledWithin(publisher.quit(), CLOSE_WAIT_MS))) publisher.disconnect();
  }
}
