import {
  type BusDriver,
  type BusStatus,
  type Capabilities,
  type DriverReceipt,
  type DriverSubscribeRequest,
  type DriverSubscription,
  type OutgoingMessage,
  PublishError,
  redact,
  safeCause,
  settledWithin,
  watchResponsiveness,
  withTimeout,
} from '@omnibus/core';
import type { Admin, Kafka, Message as KafkaRecord, Producer, RecordMetadata } from 'kafkajs';
import { AtMostOnceProducer } from './at-most-once-producer.js';
import { createProducer } from './connection.js';
import { ConsumerLoop } from './consumer-loop.js';
import { toRecord } from './envelope.js';
import { KafkaManagement } from './kafka-management.js';
import type { ResolvedKafkaOptions } from './options.js';
import { publishHint } from './publish-hints.js';
import { resultOf, unsent } from './sent-partitions.js';
import type { StatusReporter } from './status-reporter.js';
import type { TopicRegistry } from './topics.js';

const BACKEND = 'kafka';
/** Appended to an at-most-once group's consumer group id: never the at-least-once group of that name. */
const AT_MOST_ONCE_GROUP = '.at-most-once';

/**
 * How often the cluster is asked for its metadata, and how long without any
 * answer before the connection counts as lost. A paused or cut-off broker keeps
 * its sockets open, and kafkajs notices only when a request times out (30 s) —
 * a bus that only consumes never said so at all. kafkajs sends each request to a
 * broker of its choosing: up to 32 probes may wait at once (more than the 30 s a
 * request to a paused broker waits, at one a second), so that one probe stuck on
 * a paused broker does not hide the answers of the others. With one broker of a
 * cluster paused the bus may still report `unresponsive` after a few seconds:
 * its publishes, commits and metadata requests to that broker do wait (the
 * faults suite's *cluster node paused* scenario gives the reports).
 */
const PROBE_EVERY_MS = 1_000;
const UNRESPONSIVE_AFTER_MS = 5_000;
const PROBES_OUTSTANDING = 32;
/** How many times records a send left out are sent again, and the least time each of those sends gets (ms). */
const RESENDS = 3;
const RESEND_MIN_MS = 1_000;
/** Longest `close()` waits for the admin client (its probes) to disconnect (ms). */
const ADMIN_DISCONNECT_WAIT_MS = 1_000;
/** Sends of one retry-topic copy before the consumer loop falls back to redelivering it itself. */
const RETRY_COPY_SENDS = 3;
/** Pause before the second send of a retry-topic copy (doubled for the third) (ms). */
const RETRY_COPY_BACKOFF_MS = 200;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Queued {
  readonly topic: string;
  readonly message: OutgoingMessage;
  resolve(receipt: DriverReceipt): void;
  reject(error: unknown): void;
}

/** The Kafka transport behind `createKafkaBus`. */
export class KafkaDriver implements BusDriver {
  readonly backend = BACKEND;
  readonly capabilities: Readonly<Capabilities>;
  /** Browse and remove stored messages, list groups (`manage(bus)`; see the README's "Management"). */
  readonly management: KafkaManagement;
  readonly #kafka: Kafka;
  readonly #admin: Admin;
  /**
   * Retry-topic sends of the consumer loops: the publish producer at first, a producer of its
   * own once a send on it failed (see `sendRetryCopy`).
   */
  #loopProducer: Producer;
  #loopProducerSuspect = false;
  #renewingLoopProducer: Promise<void> | undefined;
  /** Publishes; replaced after a failed send (see `#renewProducer`). */
  #producer: Producer;
  #producerSuspect = false;
  readonly #topics: TopicRegistry;
  readonly #options: ResolvedKafkaOptions;
  readonly #reporter: StatusReporter;
  readonly #finishing = new Set<Promise<void>>();
  #queue: Queued[] = [];
  #sending: Promise<void> | undefined;
  readonly #stopWatching: () => void;
  /** At-most-once publishes (queued, sent with `acks: 1` on a producer of their own, never twice). */
  readonly #atMostOnce: AtMostOnceProducer;

  constructor(
    kafka: Kafka,
    admin: Admin,
    producer: Producer,
    topics: TopicRegistry,
    options: ResolvedKafkaOptions,
    reporter: StatusReporter,
  ) {
    this.#reporter = reporter;
    this.#kafka = kafka;
    this.#admin = admin;
    this.#producer = producer;
    this.#loopProducer = producer;
    this.#topics = topics;
    this.#options = options;
    this.#atMostOnce = new AtMostOnceProducer(kafka, options, (type, detail) => this.#status(type, detail));
    this.management = new KafkaManagement({ kafka, admin, topics, options });
    this.capabilities = Object.freeze({
      durable: true,
      replay: true,
      groups: true,
      dedupe: false,
      delayedNak: true,
      ordering: 'subject',
      groupBalance: 'subject',
      wildcards: 'emulated',
      maxPayloadBytes: options.maxPayloadBytes,
      atMostOnce: { groups: true }, // never sent twice, offsets committed before hand-out; consumer groups
    } satisfies Capabilities);
    let probeReported = false;
    this.#stopWatching = watchResponsiveness({
      probe: () => admin.describeCluster(),
      everyMs: PROBE_EVERY_MS,
      unresponsiveAfterMs: UNRESPONSIVE_AFTER_MS,
      maxOutstanding: PROBES_OUTSTANDING,
      onUnresponsive: (detail) => {
        if (reporter.lost) return; // lost already: that loss ends its own way
        probeReported = true;
        reporter.report({ type: 'unresponsive', detail: redact(detail), connection: 'lost' });
      },
      // ends only a loss the probe reported: a loss read from a stalled publish ends with a publish
      onResponsive: () => {
        if (probeReported && reporter.lost) reporter.report({ type: 'responsive', connection: 'restored' });
        probeReported = false;
      },
    }).stop;
  }

  #status(type: string, detail?: string): void {
    // a member that joins its group again, after a loss, has its connection back
    const restored = this.#reporter.lost && type === 'group_joined';
    this.#reporter.report({
      type,
      detail: detail === undefined ? undefined : redact(detail),
      ...(restored ? { connection: 'restored' as const } : {}),
    });
  }

  /** At-most-once publishes a failed send lost. */
  extraStats(): { dropped: number } {
    return { dropped: this.#atMostOnce.dropped };
  }

  setStatusListener(listener: (status: BusStatus) => void): void {
    this.#reporter.listen(listener);
  }

  /** Readiness: a metadata request to the cluster. */
  async probe(): Promise<void> {
    await this.#admin.describeCluster();
  }

  /**
   * Publishes issued while a send is in flight wait and leave together as one
   * request (the idempotent producer allows one request in flight per broker),
   * in the order they were issued.
   */
  async publish(message: OutgoingMessage): Promise<DriverReceipt> {
    const topic = this.#topics.topicFor(message.subject);
    await this.#topics.ensure(topic);
    if (message.atMostOnce) return this.#atMostOnce.publish(topic, message);
    return new Promise<DriverReceipt>((resolve, reject) => {
      this.#queue.push({ topic, message, resolve, reject });
      this.#sending ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      await this.#send(batch);
    }
    this.#sending = undefined;
  }

  /**
   * Sends the batch as one request per broker. Records the send left out (see
   * `unsent`) go again on the same producer, within what is left of
   * `publishTimeoutMs` (at least `RESEND_MIN_MS`, at most `RESENDS` times); a
   * failed or stalled send rejects what is not acknowledged yet, with an outcome
   * unknown.
   */
  async #send(batch: Queued[]): Promise<void> {
    let deadline: number | undefined;
    let pending = batch.map((q) => ({ q, topic: q.topic, record: toRecord(q.message) }));
    for (let round = 0; pending.length > 0; round++) {
      let metadata: RecordMetadata[];
      try {
        if (round > RESENDS) throw new Error(`records still left out after ${RESENDS} sends again`);
        if (this.#producerSuspect) await this.#renewProducer();
        deadline ??= Date.now() + this.#options.publishTimeoutMs;
        const byTopic = new Map<string, ReturnType<typeof toRecord>[]>();
        for (const { topic, record } of pending) {
          const list = byTopic.get(topic) ?? [];
          list.push(record);
          byTopic.set(topic, list);
        }
        const sending = this.#producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
        sending.catch(() => undefined); // still retrying after a timeout: its outcome is reported as unknown
        if (!(await settledWithin(sending, Math.max(RESEND_MIN_MS, deadline - Date.now())))) {
          this.#reporter.report({
            type: 'publish_stalled',
            detail: `no acknowledgement within ${this.#options.publishTimeoutMs} ms`,
            connection: 'lost',
          });
          throw new Error(
            `no acknowledgement within ${this.#options.publishTimeoutMs} ms (broker away?); the outcome is unknown — it may still be stored, once`,
          );
        }
        metadata = await sending;
      } catch (error) {
        // the outcome is unknown (the broker may have stored it) and kafkajs has rolled its
        // sequence numbers back: the next batch under the same producer id could be taken for a
        // duplicate of this one, acknowledged and dropped. Nothing more goes out on it.
        this.#producerSuspect = true;
        const hint = publishHint(error);
        for (const { q } of pending) {
          q.reject(
            new PublishError(
              `publish to "${q.message.subject}" failed: ${(error as Error)?.message ?? error}`,
              {
                backend: BACKEND,
                cause: safeCause(error),
                ...(hint ? { hint } : {}),
              },
            ),
          );
        }
        return;
      }
      if (this.#reporter.lost) this.#reporter.report({ type: 'publish_resumed', connection: 'restored' });
      const left = new Set(unsent(pending, metadata));
      for (const p of pending) {
        if (left.has(p)) continue;
        const result = batch.length === 1 ? resultOf(p.record, p.topic, metadata) : undefined;
        p.q.resolve({
          duplicate: false,
          sequence: result
            ? `${result.topicName}:${result.partition}:${result.baseOffset ?? result.offset}`
            : undefined,
        });
      }
      if (left.size > 0) this.#status('publish_resent', `${left.size} record(s) a send left out, sent again`);
      pending = [...left];
    }
  }

  /**
   * A fresh producer (a new producer id, so fresh sequence numbers) in place of
   * one whose last send failed; the old one stops retrying what it still held.
   * Throws when the new one cannot connect (the batch is rejected, and the next
   * send tries again).
   */
  async #renewProducer(): Promise<void> {
    const old = this.#producer;
    const fresh = createProducer(this.#kafka, this.#options);
    await withTimeout(
      fresh.connect(),
      this.#options.publishTimeoutMs,
      `a new producer could not connect within ${this.#options.publishTimeoutMs} ms`,
    ).catch(async (error) => {
      await settledWithin(fresh.disconnect(), 1_000);
      throw error;
    });
    this.#producer = fresh;
    this.#producerSuspect = false;
    this.#retire(old);
    this.#status('producer_renewed');
  }

  /** Lets a replaced producer go once neither publishes nor retry-topic copies use it. */
  #retire(old: Producer): void {
    if (old !== this.#producer && old !== this.#loopProducer) void settledWithin(old.disconnect(), 5_000);
  }

  /**
   * Stores one retry-topic copy for a consumer loop (`acks: -1`). The driver's rule holds here
   * too: a producer whose send failed is not used again (its rolled-back sequence numbers could
   * make the broker take the next copy for a duplicate and drop it), so a failed send marks it,
   * and the next send goes out on a fresh producer. Up to `RETRY_COPY_SENDS` sends with a
   * backoff, within `publishTimeoutMs` in all; rejects when none was acknowledged (the loop then
   * redelivers the message itself).
   */
  async sendRetryCopy(topic: string, record: KafkaRecord): Promise<void> {
    const deadline = Date.now() + this.#options.publishTimeoutMs;
    for (let send = 1; ; send++) {
      let producer: Producer | undefined;
      try {
        if (this.#loopProducerSuspect) await this.#renewLoopProducer(deadline);
        producer = this.#loopProducer;
        const sending = producer.send({ topic, acks: -1, messages: [record] });
        sending.catch(() => undefined); // past the deadline its outcome is unknown: it may still be stored
        if (!(await settledWithin(sending, Math.max(RESEND_MIN_MS, deadline - Date.now())))) {
          throw new Error(`no acknowledgement within ${this.#options.publishTimeoutMs} ms`);
        }
        await sending;
        return;
      } catch (error) {
        if (producer && producer === this.#loopProducer) {
          this.#loopProducerSuspect = true;
          // the loops' producer is the publish producer until its first failure: that one is done too
          if (producer === this.#producer) this.#producerSuspect = true;
        }
        const pause = RETRY_COPY_BACKOFF_MS * 2 ** (send - 1);
        if (send >= RETRY_COPY_SENDS || Date.now() + pause >= deadline) throw error;
        await sleep(pause);
      }
    }
  }

  /** A fresh producer for retry-topic copies (one renewal at a time, shared by every loop). */
  #renewLoopProducer(deadline: number): Promise<void> {
    this.#renewingLoopProducer ??= (async () => {
      const old = this.#loopProducer;
      const fresh = createProducer(this.#kafka, this.#options);
      const ms = Math.max(RESEND_MIN_MS, deadline - Date.now());
      try {
        await withTimeout(fresh.connect(), ms, `a new producer could not connect within ${ms} ms`);
      } catch (error) {
        await settledWithin(fresh.disconnect(), 1_000);
        throw error;
      }
      this.#loopProducer = fresh;
      this.#loopProducerSuspect = false;
      this.#retire(old);
      this.#status('retry_producer_renewed');
    })().finally(() => {
      this.#renewingLoopProducer = undefined;
    });
    return this.#renewingLoopProducer;
  }

  /**
   * One request for the whole batch (per broker). A subject's records share a
   * key, hence a partition, and go in batch order; a resend takes all the
   * records of a partition left out, in order. So the entries of one subject are
   * stored in batch order. On a failure `accepted` holds the receipts of the
   * entries acknowledged before the first one that was not, and `maybeStored`
   * every entry from that one on: a failed produce request does not say which of
   * its partitions stored their records (one refused partition fails the whole
   * request), and Kafka does not deduplicate a retry (`capabilities.dedupe` is false).
   */
  async publishBatch(messages: readonly OutgoingMessage[]): Promise<DriverReceipt[]> {
    const topics = messages.map((m) => this.#topics.topicFor(m.subject));
    for (const t of new Set(topics)) await this.#topics.ensure(t);
    const receipts = messages.map(
      (message, i) =>
        new Promise<DriverReceipt>((resolve, reject) => {
          this.#queue.push({ topic: topics[i] as string, message, resolve, reject });
        }),
    );
    this.#sending ??= this.#drain();
    const results = await Promise.allSettled(receipts);
    const firstFailure = results.findIndex((r) => r.status === 'rejected');
    if (firstFailure < 0) return results.map((r) => (r as PromiseFulfilledResult<DriverReceipt>).value);
    const accepted = results
      .slice(0, firstFailure)
      .map((r) => (r as PromiseFulfilledResult<DriverReceipt>).value);
    throw new PublishError(
      `publishBatch failed at entry ${firstFailure} of ${messages.length}; the entries before it were stored, later ones may have been`,
      {
        backend: BACKEND,
        cause: (results[firstFailure] as PromiseRejectedResult).reason,
        accepted,
        maybeStored: messages.map((_, i) => i).slice(firstFailure),
      },
    );
  }

  async subscribe(request: DriverSubscribeRequest): Promise<DriverSubscription> {
    const grouped = request.group !== undefined;
    // an at-most-once group is a consumer group of its own ("." is never in a group name)
    const own = request.group === undefined ? `sub-${request.id}` : request.group;
    const groupId = `${this.#options.groupPrefix}${own}${grouped && request.atMostOnce ? AT_MOST_ONCE_GROUP : ''}`;
    if (grouped && !request.atMostOnce) this.management.notePattern(own, request.pattern);
    // this bus's at-most-once publishes so far are stored before the start position is read: a
    // subscription made after them never gets them
    if (request.atMostOnce) await this.#atMostOnce.sent();
    const loop = new ConsumerLoop({
      kafka: this.#kafka,
      admin: this.#admin,
      sendRetryCopy: (topic, record) => this.sendRetryCopy(topic, record),
      topics: this.#topics,
      options: this.#options,
      groupId,
      grouped,
      atMostOnce: request.atMostOnce === true,
      pattern: request.pattern,
      from: request.from,
      sink: request.sink,
      status: (type, detail) => this.#status(type, detail),
      alive: () => {
        if (this.#reporter.lost) this.#reporter.report({ type: 'consumer_resumed', connection: 'restored' });
      },
    });
    try {
      await loop.start();
    } catch (error) {
      await loop.stop().catch(() => undefined);
      await loop.finish().catch(() => undefined);
      throw error;
    }
    return {
      stop: async () => {
        await loop.stop();
        // commit and leave once core has settled (acked or released) everything this member held
        const finishing = loop
          .finish()
          .catch((error) => request.sink.reportError(error))
          .finally(() => this.#finishing.delete(finishing));
        this.#finishing.add(finishing);
      },
    };
  }

  async close(): Promise<void> {
    this.#stopWatching();
    await this.#sending;
    await this.#atMostOnce.close();
    await Promise.all([...this.#finishing]);
    await this.#renewingLoopProducer?.catch(() => undefined);
    await this.#producer.disconnect().catch(() => undefined);
    if (this.#loopProducer !== this.#producer) await this.#loopProducer.disconnect().catch(() => undefined);
    // kafkajs waits for every request in flight, and a probe to a paused broker waits 30 s
    await settledWithin(this.#admin.disconnect(), ADMIN_DISCONNECT_WAIT_MS);
  }
}
