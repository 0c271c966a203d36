import {
  type BusDriver,
  type BusStatus,
  type Capabilities,
  type DriverReceipt,
  type DriverSubscribeRequest,
  type DriverSubscription,
  log,
  type OutgoingMessage,
  PublishError,
  redact,
  safeCause,
  settledWithin,
  watchResponsiveness,
} from '@omnibus/core';
import { AtMostOnceProducer } from './at-most-once-producer.js';
import { connectWithin } from './bounded-connect.js';
import {
  type Admin,
  ErrorCodes,
  errorCode,
  type Kafka,
  type KafkaRecord,
  type Producer,
  type RecordMetadata,
} from './client.js';
import { createProducer } from './connection.js';
import { ConsumerLoop } from './consumer-loop.js';
import { toRecord } from './envelope.js';
import { KafkaManagement } from './kafka-management.js';
import type { ResolvedKafkaOptions } from './options.js';
import { publishHint } from './publish-hints.js';
import type { StatusReporter } from './status-reporter.js';
import type { TopicRegistry } from './topics.js';
import type { TrackedAdmin } from './tracked-admin.js';

const BACKEND = 'kafka';
/** Appended to an at-most-once group's consumer group id: never the at-least-once group of that name. */
const AT_MOST_ONCE_GROUP = '.at-most-once';

/**
 * How often the cluster is asked for its metadata, and how long without any answer before the
 * connection counts as lost. A paused or cut-off broker keeps its sockets open, and the client
 * notices only when a request times out — a bus that only consumes might never say so. librdkafka
 * asks any broker it is connected to; each probe holds a thread of Node's pool (4 by default,
 * shared with the consumers' fetches) until its answer or timeout, so at most 2 wait at once.
 */
const PROBE_EVERY_MS = 1_000;
const UNRESPONSIVE_AFTER_MS = 5_000;
const PROBES_OUTSTANDING = 2;
/** How long one metadata probe may wait for its answer (ms). */
const PROBE_TIMEOUT_MS = 5_000;
/** Slack over `publishTimeoutMs` (librdkafka's `message.timeout.ms`) before a send counts as stalled here. */
const SEND_SLACK_MS = 2_000;
/** Longest `close()` waits for the admin requests under way (ms; their own timeouts are 5 s). */
const ADMIN_IDLE_WAIT_MS = 12_000;
/** Longest `close()` waits for the admin client to disconnect (ms). */
const ADMIN_DISCONNECT_WAIT_MS = 1_000;
/** Sends of one retry-topic copy before the consumer loop falls back to redelivering it itself. */
const RETRY_COPY_SENDS = 3;
/** Pause before the second send of a retry-topic copy (doubled for the third) (ms). */
const RETRY_COPY_BACKOFF_MS = 200;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A send that failed after librdkafka gave up retrying it within `message.timeout.ms`. */
const timedOut = (error: unknown) => errorCode(error) === ErrorCodes.ERR__MSG_TIMED_OUT;

/** The Kafka transport behind `createKafkaBus`. */
export class KafkaDriver implements BusDriver {
  readonly backend = BACKEND;
  readonly capabilities: Readonly<Capabilities>;
  /** Browse and remove stored messages, list groups (`manage(bus)`; see the README's "Management"). */
  readonly management: KafkaManagement;
  readonly #kafka: Kafka;
  readonly #admin: Admin;
  /** Resolves once no admin request is under way (see tracked-admin.ts). */
  readonly #adminIdle: () => Promise<void>;
  /** Publishes and retry-topic copies; replaced after a fatal error (see `#renewProducer`). */
  #producer: Producer;
  #renewing: Promise<void> | undefined;
  readonly #topics: TopicRegistry;
  readonly #options: ResolvedKafkaOptions;
  readonly #reporter: StatusReporter;
  readonly #finishing = new Set<Promise<void>>();
  /** Sends under way (close waits for them). */
  readonly #sending = new Set<Promise<unknown>>();
  readonly #stopWatching: () => void;
  /** At-most-once publishes (queued, sent with `acks: 1` on a producer of their own, never twice). */
  readonly #atMostOnce: AtMostOnceProducer;
  /** Records leaving at-most-once members skipped (never fetched while they were members). */
  #droppedOnLeave = 0;
  readonly #release: () => void;

  constructor(
    kafka: Kafka,
    tracked: TrackedAdmin,
    producer: Producer,
    topics: TopicRegistry,
    options: ResolvedKafkaOptions,
    reporter: StatusReporter,
    /** Cuts the client's logger off from this bus, once closed (disconnected-client.ts). */
    release: () => void = () => undefined,
  ) {
    this.#reporter = reporter;
    this.#release = release;
    this.#kafka = kafka;
    const { admin } = tracked;
    this.#admin = admin;
    this.#adminIdle = tracked.idle;
    this.#producer = producer;
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
      probe: () => admin.listTopics({ timeout: PROBE_TIMEOUT_MS }),
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

  /** At-most-once publishes a failed send lost, and records leaving at-most-once members skipped. */
  extraStats(): { dropped: number } {
    return { dropped: this.#atMostOnce.dropped + this.#droppedOnLeave };
  }

  setStatusListener(listener: (status: BusStatus) => void): void {
    this.#reporter.listen(listener);
  }

  /** Readiness: a metadata request to the cluster. */
  async probe(): Promise<void> {
    await this.#admin.listTopics({ timeout: PROBE_TIMEOUT_MS });
  }

  /**
   * Sends the record on the idempotent producer and resolves with its place
   * (`topic:partition:offset`). librdkafka batches what is queued while a request is in flight
   * and keeps each partition's order; it retries until `publishTimeoutMs`, after which the
   * publish rejects with its outcome unknown (it may still be stored, once).
   */
  async publish(message: OutgoingMessage): Promise<DriverReceipt> {
    const topic = this.#topics.topicFor(message.subject);
    await this.#topics.ensure(topic);
    if (message.atMostOnce) return this.#atMostOnce.publish(topic, message);
    return this.#send(topic, message);
  }

  async #send(topic: string, message: OutgoingMessage): Promise<DriverReceipt> {
    const [outcome] = await this.#sendAll([topic], [message]);
    if (outcome?.status === 'rejected') throw outcome.reason;
    return (outcome as PromiseFulfilledResult<DriverReceipt>).value;
  }

  /**
   * Queues every message on the idempotent producer at once (one record per send, so each has
   * its own delivery report and receipt), and waits for them under one bound: what was not
   * acknowledged within `publishTimeoutMs` is a `PublishError` with its outcome unknown. One
   * timer and one tracked promise per call, not per message.
   */
  async #sendAll(
    topics: readonly string[],
    messages: readonly OutgoingMessage[],
  ): Promise<PromiseSettledResult<DriverReceipt>[]> {
    const outcomes: PromiseSettledResult<DriverReceipt>[] = new Array(messages.length);
    /** Set when the wait gave up: a send settling after that changes nothing (its caller has its answer). */
    let answered = false;
    if (this.#renewing) await this.#renewing; // settles either way (a failure is reported)
    const producer = this.#producer;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i] as OutgoingMessage;
      // an async method: a failure is a rejection, never a throw
      const sending = producer.send({ topic: topics[i] as string, messages: [toRecord(message)] });
      sends.push(
        sending.then(
          ([result]) => {
            if (!answered) outcomes[i] = { status: 'fulfilled', value: receiptOf(result) };
          },
          (error: unknown) => {
            if (!answered)
              outcomes[i] = { status: 'rejected', reason: this.#publishError(message.subject, error) };
          },
        ),
      );
    }
    const all = Promise.all(sends);
    this.#track(all);
    const within = this.#options.publishTimeoutMs + SEND_SLACK_MS;
    if (!(await settledWithin(all, within))) {
      answered = true;
      const late = new Error(`no acknowledgement within ${within} ms`);
      for (let i = 0; i < messages.length; i++)
        outcomes[i] ??= {
          status: 'rejected',
          reason: this.#publishError((messages[i] as OutgoingMessage).subject, late),
        };
    }
    if (this.#reporter.lost && outcomes.some((o) => o.status === 'fulfilled'))
      this.#reporter.report({ type: 'publish_resumed', connection: 'restored' });
    return outcomes;
  }

  /** The `PublishError` of a failed send (a stalled one also reported as `publish_stalled`). */
  #publishError(subject: string, error: unknown): PublishError {
    let cause = error;
    if (timedOut(error) || /no acknowledgement within/.test(String((error as Error)?.message))) {
      this.#reporter.report({
        type: 'publish_stalled',
        detail: `no acknowledgement within ${this.#options.publishTimeoutMs} ms`,
        connection: 'lost',
      });
      cause = new Error(
        `no acknowledgement within ${this.#options.publishTimeoutMs} ms (broker away?); the outcome is unknown — it may still be stored, once`,
        { cause: error },
      );
    }
    this.#renewIfFatal(error);
    const hint = publishHint(cause);
    return new PublishError(`publish to "${subject}" failed: ${(cause as Error)?.message ?? cause}`, {
      backend: BACKEND,
      cause: safeCause(cause),
      ...(hint ? { hint } : {}),
    });
  }

  #track(sending: Promise<unknown>): void {
    const settled = sending.then(
      () => undefined,
      () => undefined,
    );
    this.#sending.add(settled);
    void settled.then(() => this.#sending.delete(settled));
  }

  /**
   * A producer whose error was fatal (librdkafka's idempotence state is beyond repair) fails every
   * later send: a fresh one takes its place (new producer id), once.
   */
  #renewIfFatal(error: unknown): void {
    if ((error as { fatal?: boolean })?.fatal !== true || this.#renewing) return;
    const old = this.#producer;
    this.#renewing = (async () => {
      const fresh = createProducer(this.#kafka, this.#options);
      await connectWithin([fresh], this.#options.publishTimeoutMs, 'a new producer could not connect', 1_000);
      this.#producer = fresh;
      void settledWithin(old.disconnect(), 5_000);
      this.#status('producer_renewed');
    })()
      .catch((e) =>
        this.#status('client_error', `renewing the producer failed: ${(e as Error)?.message ?? e}`),
      )
      .finally(() => {
        this.#renewing = undefined;
      });
  }

  /**
   * Stores one retry-topic copy for a consumer loop on the idempotent producer: up to
   * `RETRY_COPY_SENDS` sends with a backoff, within `publishTimeoutMs` in all; rejects when none
   * was acknowledged (the loop then redelivers the message itself).
   */
  async sendRetryCopy(topic: string, record: KafkaRecord): Promise<void> {
    const deadline = Date.now() + this.#options.publishTimeoutMs;
    for (let send = 1; ; send++) {
      try {
        if (this.#renewing) await this.#renewing;
        const sending = this.#producer.send({ topic, messages: [{ ...record }] });
        this.#track(sending);
        const within = Math.max(1_000, deadline - Date.now()) + SEND_SLACK_MS;
        if (!(await settledWithin(sending, within)))
          throw new Error(`no acknowledgement within ${within} ms`);
        await sending;
        return;
      } catch (error) {
        this.#renewIfFatal(error);
        const pause = RETRY_COPY_BACKOFF_MS * 2 ** (send - 1);
        if (send >= RETRY_COPY_SENDS || Date.now() + pause >= deadline) throw error;
        await sleep(pause);
      }
    }
  }

  /**
   * Every entry queued on the idempotent producer at once, in batch order: a subject's records
   * share a key, hence a partition, and librdkafka keeps each partition's order (also across its
   * retries). On a failure `accepted` holds the receipts of the entries acknowledged before the
   * first one that was not, and `maybeStored` every entry from that one on (Kafka does not
   * deduplicate a retry: `capabilities.dedupe` is false).
   */
  async publishBatch(messages: readonly OutgoingMessage[]): Promise<DriverReceipt[]> {
    const topics = messages.map((m) => this.#topics.topicFor(m.subject));
    for (const t of new Set(topics)) await this.#topics.ensure(t);
    const results = await this.#sendAll(topics, messages);
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
      ackTimeoutMs: request.ackTimeoutMs,
      sink: request.sink,
      status: (type, detail) => this.#status(type, detail),
      dropped: (count) => {
        this.#droppedOnLeave += count;
      },
      alive: () => {
        if (this.#reporter.lost) this.#reporter.report({ type: 'consumer_resumed', connection: 'restored' });
      },
      warn: (message) => log(this.#options.logger ?? console, 'warn', message),
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
        // at most once nothing waits for core to settle: the member leaves (and counts what it
        // skips) before the subscription's close resolves
        if (request.atMostOnce) await finishing;
      },
    };
  }

  async close(): Promise<void> {
    this.#stopWatching();
    await Promise.all([...this.#sending]);
    await this.#atMostOnce.close();
    await Promise.all([...this.#finishing]);
    await Promise.all([...this.#sending]); // retry copies of members that were leaving
    await this.#renewing;
    await this.#producer.disconnect().catch(() => undefined);
    // an admin request under way runs on a thread of Node's pool that a disconnect would pull
    // the client from under: wait for it (each ends within its own timeout)
    await settledWithin(this.#adminIdle(), ADMIN_IDLE_WAIT_MS);
    await settledWithin(this.#admin.disconnect(), ADMIN_DISCONNECT_WAIT_MS);
    this.#release();
  }
}

/** The receipt of an acknowledged record: its place, `topic:partition:offset`. */
function receiptOf(result: RecordMetadata | undefined): DriverReceipt {
  return {
    duplicate: false,
    sequence: result
      ? `${result.topicName}:${result.partition}:${result.baseOffset ?? result.offset}`
      : undefined,
  };
}
