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
  type DriverReceipt,
  type OutgoingMessage,
  redact,
  settledWithin,
  withTimeout,
} from '@omnibus/core';
import { type Kafka, Partitioners, type Producer } from 'kafkajs';
import { toRecord } from './envelope.js';
import type { ResolvedKafkaOptions } from './options.js';

/** Publishes queued beyond this wait for the sends under way (backpressure while the broker is slow or away). */
const MAX_QUEUED = 10_000;
/**
 * Most bytes one send carries (about: payloads, keys, headers). A partition's record batch must
 * stay under the broker's `message.max.bytes` (1 MiB by default) or the whole send is refused.
 */
const MAX_SEND_BYTES = 512 * 1024;

interface Queued {
  readonly topic: string;
  readonly record: ReturnType<typeof toRecord>;
  /** Roughly what the record weighs on the wire. */
  readonly bytes: number;
}

function weigh(message: OutgoingMessage): number {
  let bytes = 64 + message.payload.byteLength + message.subject.length * 2 + message.id.length;
  for (const name in message.headers) bytes += name.length + (message.headers[name]?.length ?? 0) * 3 + 8;
  return bytes;
}

/** Sends at-most-once publishes on a producer connected on first use. */
export class AtMostOnceProducer {
  readonly #kafka: Kafka;
  readonly #options: ResolvedKafkaOptions;
  readonly #report: (type: string, detail: string) => void;
  #producer: Promise<Producer> | undefined;
  #queue: Queued[] = [];
  #sending: Promise<void> | undefined;
  /** Publishes a failed send lost (`stats().dropped`). */
  dropped = 0;

  constructor(kafka: Kafka, options: ResolvedKafkaOptions, report: (type: string, detail: string) => void) {
    this.#kafka = kafka;
    this.#options = options;
    this.#report = report;
  }

  /** Queues the record: resolved at once, or once the queue has room again. */
  publish(topic: string, message: OutgoingMessage): DriverReceipt | Promise<DriverReceipt> {
    const queued = { topic, record: toRecord(message), bytes: weigh(message) };
    if (this.#queue.length < MAX_QUEUED) {
      this.#queue.push(queued);
      this.#sending ??= this.#drain();
      return AT_MOST_ONCE_RECEIPT;
    }
    return this.#waitForRoom().then(() => this.publish(topic, message));
  }

  async #waitForRoom(): Promise<void> {
    while (this.#queue.length >= MAX_QUEUED && this.#sending) await this.#sending;
  }

  /** Resolves once everything queued so far was sent (stored on the leader, or counted lost). */
  async sent(): Promise<void> {
    while (this.#sending) await this.#sending;
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
      const batch = take === this.#queue.length ? this.#queue : this.#queue.slice(0, take);
      this.#queue = take === this.#queue.length ? [] : this.#queue.slice(take);
      await this.#send(batch);
    }
    this.#sending = undefined;
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
        acks: 1,
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
        // the same partitioner as the at-least-once producer: a subject stays on one partition
        createPartitioner: Partitioners.DefaultPartitioner,
        idempotent: false,
        allowAutoTopicCreation: false,
        // a send is never retried (it could be stored twice); these cover connecting only
        retry: { retries: 0 },
      });
      try {
        await withTimeout(
          producer.connect(),
          this.#options.publishTimeoutMs,
          `the at-most-once producer could not connect within ${this.#options.publishTimeoutMs} ms`,
        );
      } catch (error) {
        this.#producer = undefined;
        await settledWithin(producer.disconnect(), 1_000);
        throw error;
      }
      return producer;
    })();
    return this.#producer;
  }

  /** Waits for the sends under way, then disconnects the producer (when one was made). */
  async close(): Promise<void> {
    await this.sent();
    const producer = await this.#producer?.catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
  }
}
