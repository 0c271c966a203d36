// Kafka's at-most-once publish path. A publish is queued and resolved at once: the client has
// it, as `nc.publish` or a Redis `PUBLISH` written to the socket. A producer of its own (not
// idempotent: an idempotent producer must wait for every in-sync replica) sends what is queued
// as one request at a time with `acks: 1` (the partition leader's answer, no replicas), in
// the order published, and never sends a record twice (no retries: a retried send could store
// it twice). What a failed send held is lost, counted in `stats().dropped` and reported as a
// status. Waiting for the sends under way (`sent()`) lets a subscription that starts after a
// publish on this bus read its start position past that publish.
import {
  AT_MOST_ONCE_RECEIPT,
  BusClosedError,
  type DriverReceipt,
  type OutgoingMessage,
  redact,
  withTimeout,
} from '@omnibus/core';
import { connectWithin } from './bounded-connect.js';
import type { Kafka, Producer } from './client.js';
import { messageMaxBytes } from './connection.js';
import { toRecord } from './envelope.js';
import type { ResolvedKafkaOptions } from './options.js';

/** Publishes queued beyond this wait, in order, for room (backpressure while the broker is slow or away). */
const MAX_QUEUED = 10_000;
/**
 * Most bytes one send carries. A partition's record batch must stay under the broker's
 * `message.max.bytes` (1 MiB by default) or the whole send is refused; records are weighed
 * generously (`weigh`), so this leaves room.
 */
const MAX_SEND_BYTES = 512 * 1024;
/** Per record: Kafka's record framing and the name of Omnibus's header, rounded up. */
const RECORD_OVERHEAD = 128;

interface Waiting {
  readonly queued: Queued;
  resolve(receipt: DriverReceipt): void;
}

interface SentWaiter {
  readonly upTo: number;
  resolve(): void;
}

interface Queued {
  readonly topic: string;
  readonly record: ReturnType<typeof toRecord>;
  /** What the record weighs on the wire, at most. */
  readonly bytes: number;
}

/** A record's size on the wire, at most (the subject counted twice, as UTF-8: a generous bound). */
function weigh(message: OutgoingMessage): number {
  let bytes =
    RECORD_OVERHEAD +
    message.payload.byteLength +
    2 * Buffer.byteLength(message.subject) +
    message.id.length +
    16;
  for (const name in message.headers)
    bytes += Buffer.byteLength(name) + Buffer.byteLength(message.headers[name] ?? '') + 8;
  return bytes;
}

/** Sends at-most-once publishes on a producer connected on first use. */
export class AtMostOnceProducer {
  readonly #kafka: Kafka;
  readonly #options: ResolvedKafkaOptions;
  readonly #report: (type: string, detail: string) => void;
  #producer: Promise<Producer> | undefined;
  #queue: Queued[] = [];
  /** Publishes waiting for room, in the order published (a later publish never overtakes them). */
  #waiting: Waiting[] = [];
  #sending: Promise<void> | undefined;
  /** Records taken in (queued or waiting) and records done with (sent or lost), in order. */
  #taken = 0;
  #done = 0;
  /** Callers of `sent()`, each waiting for `#done` to reach the count it saw. */
  #sentWaiters: SentWaiter[] = [];
  #closed = false;
  /** Publishes a failed send lost (`stats().dropped`). */
  dropped = 0;

  constructor(kafka: Kafka, options: ResolvedKafkaOptions, report: (type: string, detail: string) => void) {
    this.#kafka = kafka;
    this.#options = options;
    this.#report = report;
  }

  /** Queues the record: resolved at once, or once the queue has room for it (in order). */
  publish(topic: string, message: OutgoingMessage): DriverReceipt | Promise<DriverReceipt> {
    if (this.#closed) throw new BusClosedError({ backend: 'kafka' });
    const queued = { topic, record: toRecord(message), bytes: weigh(message) };
    this.#taken++;
    if (this.#waiting.length === 0 && this.#queue.length < MAX_QUEUED) {
      this.#queue.push(queued);
      this.#sending ??= this.#drain();
      return AT_MOST_ONCE_RECEIPT;
    }
    return new Promise<DriverReceipt>((resolve) => this.#waiting.push({ queued, resolve }));
  }

  /** Resolves once every record taken in so far was sent (stored on the leader) or counted lost. */
  sent(): Promise<void> {
    if (this.#done >= this.#taken) return Promise.resolve();
    return new Promise<void>((resolve) => this.#sentWaiters.push({ upTo: this.#taken, resolve }));
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      // the oldest first, up to MAX_SEND_BYTES (at least one record)
      let bytes = 0;
      let take = 0;
      while (
        take < this.#queue.length &&
        (take === 0 || bytes + (this.#queue[take] as Queued).bytes <= MAX_SEND_BYTES)
      )
        bytes += (this.#queue[take++] as Queued).bytes;
      const batch = this.#queue.splice(0, take);
      await this.#send(batch);
      this.#done += batch.length;
      this.#admitWaiting();
      this.#wakeSentWaiters();
    }
    this.#sending = undefined;
  }

  /** Moves publishes waiting for room into the queue, in order, and resolves them. */
  #admitWaiting(): void {
    while (this.#waiting.length > 0 && this.#queue.length < MAX_QUEUED) {
      const { queued, resolve } = this.#waiting.shift() as Waiting;
      this.#queue.push(queued);
      resolve(AT_MOST_ONCE_RECEIPT);
    }
  }

  #wakeSentWaiters(): void {
    if (this.#sentWaiters.length === 0) return;
    const due = this.#sentWaiters.filter((w) => this.#done >= w.upTo);
    this.#sentWaiters = this.#sentWaiters.filter((w) => this.#done < w.upTo);
    for (const w of due) w.resolve();
  }

  async #send(batch: Queued[]): Promise<void> {
    const byTopic = new Map<string, ReturnType<typeof toRecord>[]>();
    for (const { topic, record } of batch) {
      const list = byTopic.get(topic);
      if (list) list.push(record);
      else byTopic.set(topic, [record]);
    }
    try {
      const producer = await this.#connected();
      const sending = producer.sendBatch({
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      sending.catch(() => undefined); // past the timeout its outcome is unknown
      await withTimeout(
        sending,
        this.#options.publishTimeoutMs,
        `no answer within ${this.#options.publishTimeoutMs} ms (broker away?)`,
      );
    } catch (error) {
      this.dropped += batch.length;
      this.#report(
        'at_most_once_send_failed',
        redact(`${batch.length} at-most-once publish(es) lost: ${(error as Error)?.message ?? error}`),
      );
    }
  }

  /** The producer, connected on the first at-most-once publish (a failed connect is tried again next time). */
  #connected(): Promise<Producer> {
    this.#producer ??= (async () => {
      const producer = this.#kafka.producer({
        kafkaJS: {
          idempotent: false,
          acks: 1,
          // one request at a time: a send that timed out is never overtaken by the next
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
          // a send is never retried (it could be stored twice)
          retry: { retries: 0 },
        },
        'enable.idempotence': false,
        // the same partitioner as the at-least-once producer: a subject stays on one partition
        partitioner: 'murmur2_random',
        'linger.ms': 0,
        'message.timeout.ms': this.#options.publishTimeoutMs,
        'message.max.bytes': messageMaxBytes(this.#options),
      });
      await connectWithin(
        [producer],
        this.#options.publishTimeoutMs,
        `the at-most-once producer could not connect within ${this.#options.publishTimeoutMs} ms`,
        1_000,
        () => {
          this.#producer = undefined;
        },
      );
      return producer;
    })();
    return this.#producer;
  }

  /**
   * Refuses new publishes, waits for everything taken in to be sent, then disconnects the
   * producer (when one was made).
   */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#sending) await this.#sending;
    const producer = await this.#producer?.catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
  }
}
