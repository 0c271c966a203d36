import {
  type BusDriver,
  type BusStatus,
  type Capabilities,
  DLQ_HEADERS,
  type DriverReceipt,
  type DriverSubscribeRequest,
  type DriverSubscription,
  type OutgoingMessage,
  PublishError,
  type ResponsivenessWatcher,
  redact,
  StatusRelay,
  safeCause,
  watchResponsiveness,
  withTimeout,
} from '@omnibus/core';
import {
  AMQPChannelError,
  AMQPConnectionError,
  type Connection,
  type Envelope,
  type Publisher,
} from 'rabbitmq-client';
import { envelopeOf } from './envelope.js';
import type { ResolvedRabbitMqOptions } from './options.js';
import { QueueConsumer } from './queue-consumer.js';
import { bindingKeyOf, routingKeyOf } from './routing.js';

const BACKEND = 'rabbitmq';
/** RabbitMQ has no dedupe: every confirmed publish is a new message. */
const RECEIPT: DriverReceipt = Object.freeze({ duplicate: false });
/** An ungrouped subscription's queue outlives a crashed process by this long (then RabbitMQ removes it). */
const SUBSCRIPTION_QUEUE_EXPIRES_MS = 5 * 60_000;
/** A delay queue is removed this long after it was last declared, well after its last message expired. */
const DELAY_QUEUE_MARGIN_MS = 10 * 60_000;
/** A delay queue is declared again when its last declaration is older than this. */
const REDECLARE_AFTER_MS = 2 * 60_000;
/**
 * The routing key the dead-letter store is bound with: a dead-letter copy goes to its subject
 * and, through `CC`, here too, so it is kept whether or not anything subscribes to its subject
 * (an exchange drops what no queue is bound for). No subject starts with `_`.
 */
export const DEAD_LETTER_STORE_KEY = '_omnibus.dead-letters';
/** How often the broker is probed, and how long without any answer before the connection counts as lost. */
const PROBE_EVERY_MS = 1_000;
const UNRESPONSIVE_AFTER_MS = 3_000;
/** How long a closing subscription waits for its deliveries to be settled before its channel closes. */
const SETTLE_ON_CLOSE_MS = 10_000;

/**
 * A delay rounded up to two significant digits (at most 10 % later, never earlier), so a
 * backoff with jitter needs a bounded number of delay queues.
 */
export function delayBucket(delayMs: number): number {
  const ms = Math.max(0, Math.ceil(delayMs));
  if (ms < 100) return ms;
  const step = 10 ** (Math.floor(Math.log10(ms)) - 1);
  return Math.ceil(ms / step) * step;
}

/** The transport half of the RabbitMQ adapter. */
export class RabbitMqDriver implements BusDriver {
  readonly backend = BACKEND;
  readonly capabilities: Readonly<Capabilities>;
  readonly #connection: Connection;
  #publisher: Publisher;
  readonly #options: ResolvedRabbitMqOptions;
  readonly #relay = new StatusRelay();
  /** Delay queues declared by this bus, with when. */
  readonly #delayQueues = new Map<string, number>();
  /** Subscriptions closing in the background (channels waiting for their last settle, queues being removed). */
  readonly #closing = new Set<Promise<void>>();
  #exchangeReady: Promise<void> | undefined;
  #storeReady: Promise<void> | undefined;
  readonly #watcher: ResponsivenessWatcher;

  constructor(connection: Connection, options: ResolvedRabbitMqOptions) {
    this.#connection = connection;
    this.#options = options;
    this.#publisher = this.#newPublisher();
    this.capabilities = Object.freeze({
      durable: true, // persistent messages in durable queues, publisher confirms
      replay: false,
      groups: true,
      dedupe: false,
      delayedNak: true,
      ordering: 'subject',
      groupBalance: 'message',
      wildcards: 'native',
      maxPayloadBytes: options.maxPayloadBytes,
    } satisfies Capabilities);
    // one connection state, lost by an error or by silence, restored by a reconnect or an answer:
    // a paused broker keeps its socket open and the AMQP heartbeat (60 s) would notice late
    let lost = false;
    const markLost = (type: string, detail: string) => {
      this.#status(type, detail, lost ? undefined : 'lost');
      lost = true;
    };
    const markRestored = (type: string) => {
      if (lost) this.#status(type, undefined, 'restored');
      lost = false;
    };
    connection.on('error', (error) => markLost('error', (error as Error)?.message ?? String(error)));
    connection.on('connection', () => {
      this.#watcher?.answered();
      markRestored('reconnected');
    });
    this.#watcher = watchResponsiveness({
      probe: () => this.probe(),
      ready: () => connection.ready,
      everyMs: PROBE_EVERY_MS,
      unresponsiveAfterMs: UNRESPONSIVE_AFTER_MS,
      onUnresponsive: (detail) => markLost('unresponsive', detail),
      onResponsive: () => markRestored('responsive'),
    });
  }

  setStatusListener(listener: (status: BusStatus) => void): void {
    this.#relay.listen(listener);
  }

  #status(type: string, detail?: string, connection?: 'lost' | 'restored'): void {
    this.#relay.report({
      type,
      ...(detail === undefined ? {} : { detail: redact(detail) }),
      ...(connection ? { connection } : {}),
    });
  }

  /** The exchange every subject goes to (declared once per bus, again after a failure). */
  #exchange(): Promise<void> {
    this.#exchangeReady ??= this.#connection
      .exchangeDeclare({ exchange: this.#options.exchange, type: 'topic', durable: true })
      .catch((error: unknown) => {
        this.#exchangeReady = undefined;
        throw error;
      });
    return this.#exchangeReady;
  }

  /** The dead-letter store: a durable queue (of `queueType`) of the bus's prefix, declared at the first dead letter. */
  #deadLetterStore(): Promise<void> {
    const { exchange, queuePrefix } = this.#options;
    const queue = `${queuePrefix}dead-letters`;
    this.#storeReady ??= (async () => {
      await this.#connection.queueDeclare({
        queue,
        durable: true,
        arguments: { 'x-queue-type': this.#options.queueType },
      });
      await this.#connection.queueBind({ queue, exchange, routingKey: DEAD_LETTER_STORE_KEY });
    })().catch((error: unknown) => {
      this.#storeReady = undefined;
      throw error;
    });
    return this.#storeReady;
  }

  /** One round trip: the exchange declared again (idempotent). A refusal from the server is an answer too. */
  async probe(): Promise<void> {
    try {
      await this.#connection.exchangeDeclare({
        exchange: this.#options.exchange,
        type: 'topic',
        durable: true,
      });
    } catch (error) {
      if (error instanceof AMQPChannelError && !(error instanceof AMQPConnectionError)) return;
      throw error;
    }
  }

  async publish(message: OutgoingMessage): Promise<DriverReceipt> {
    const routingKey = routingKeyOf(message.subject);
    try {
      await this.#exchange();
      await this.#send(await this.#envelope(message, routingKey), message.payload);
    } catch (error) {
      throw new PublishError(
        `publish to "${message.subject}" failed: ${(error as Error)?.message ?? error}`,
        {
          backend: BACKEND,
          cause: safeCause(error),
        },
      );
    }
    return RECEIPT;
  }

  /**
   * Sent together on the publisher's channel (pipelined; RabbitMQ confirms in order). Every
   * routing key is checked first, so a bad subject sends nothing. On a failure, `accepted` is the
   * prefix confirmed before the first failed entry; every later entry may have been stored.
   */
  async publishBatch(messages: readonly OutgoingMessage[]): Promise<DriverReceipt[]> {
    const keys = messages.map((m) => routingKeyOf(m.subject));
    try {
      await this.#exchange();
    } catch (error) {
      throw new PublishError(`publishBatch failed: ${(error as Error)?.message ?? error}; nothing was sent`, {
        backend: BACKEND,
        cause: safeCause(error),
      });
    }
    const results = await Promise.allSettled(
      messages.map(async (m, i) => this.#send(await this.#envelope(m, keys[i] as string), m.payload)),
    );
    const first = results.findIndex((r) => r.status === 'rejected');
    if (first < 0) return messages.map(() => RECEIPT);
    const error = (results[first] as PromiseRejectedResult).reason;
    throw new PublishError(`publishBatch: entry ${first} failed: ${(error as Error)?.message ?? error}`, {
      backend: BACKEND,
      cause: safeCause(error),
      accepted: messages.slice(0, first).map(() => RECEIPT),
      maybeStored: messages.map((_, i) => i).filter((i) => i > first),
    });
  }

  /** A message's AMQP envelope; a dead-letter copy also goes to the dead-letter store (`CC`). */
  async #envelope(message: OutgoingMessage, routingKey: string): Promise<Envelope> {
    const envelope = envelopeOf(message, this.#options.exchange, routingKey);
    if (message.headers[DLQ_HEADERS.reason] !== undefined) {
      await this.#deadLetterStore();
      (envelope.headers as Record<string, unknown>).CC = [DEAD_LETTER_STORE_KEY];
    }
    return envelope;
  }

  /**
   * Sends with a confirm, bounded by `publishTimeoutMs` (outcome unknown when it runs out). A
   * confirm that never came means a channel the broker no longer serves (seen after a restart
   * that crashed channel processes): the publisher is replaced, so later publishes use a new one.
   */
  async #send(envelope: Envelope, payload: Uint8Array): Promise<void> {
    const body = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    const limit = this.#options.publishTimeoutMs;
    const publisher = this.#publisher;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
    }, limit);
    try {
      await withTimeout(
        publisher.send(envelope, body),
        limit,
        `no confirm from RabbitMQ within ${limit} ms (publishTimeoutMs); the message may have been stored`,
      );
    } catch (error) {
      if (timedOut && this.#publisher === publisher) this.#renewPublisher();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  #newPublisher(): Publisher {
    const publisher = this.#connection.createPublisher({ confirm: true, maxAttempts: 2 });
    publisher.on('retry', (error) =>
      this.#status('publish_retried', (error as Error)?.message ?? String(error)),
    );
    return publisher;
  }

  #renewPublisher(): void {
    const stale = this.#publisher;
    this.#publisher = this.#newPublisher();
    this.#status('publisher_renewed', 'a confirm never came: publishing on a new channel');
    void stale.close().catch(() => undefined);
  }

  async subscribe(request: DriverSubscribeRequest): Promise<DriverSubscription> {
    const { queuePrefix, exchange } = this.#options;
    const grouped = request.group !== undefined;
    const queue = grouped ? `${queuePrefix}group.${request.group}` : `${queuePrefix}sub.${request.id}`;
    const routingKey = bindingKeyOf(request.pattern);
    const queueArguments: Record<string, unknown> = grouped
      ? { 'x-queue-type': this.#options.queueType }
      : { 'x-queue-type': 'classic', 'x-expires': SUBSCRIPTION_QUEUE_EXPIRES_MS };
    const declare = async () => {
      await this.#exchange();
      await this.#connection.queueDeclare({ queue, durable: true, arguments: queueArguments });
      await this.#connection.queueBind({ queue, exchange, routingKey });
    };
    await declare();
    const consumer = new QueueConsumer({
      connection: this.#connection,
      queue,
      grouped,
      maxInFlight: request.maxInFlight,
      sink: request.sink,
      redeclare: declare,
      redeliveryRoute: (delayMs) => this.#delayRoute(queue, queueArguments, delayMs),
      publishCopy: (envelope, body) => this.#send(envelope, body),
      status: (type, detail) => this.#status(type, detail),
    });
    await consumer.start();
    return {
      stop: async () => {
        await consumer.stop();
        const closing = (async () => {
          if (grouped) {
            await consumer.close(SETTLE_ON_CLOSE_MS);
          } else {
            await consumer.close(0);
            await this.#connection.queueDelete({ queue }).catch(() => undefined);
          }
        })();
        this.#closing.add(closing);
        void closing.finally(() => this.#closing.delete(closing));
      },
    };
  }

  /**
   * The routing key (default exchange) of a redelivery copy due in `delayMs`: the queue itself
   * when due now, else a delay queue of that many ms that dead-letters expired messages into
   * it. Each delay queue holds one delay, so its head always expires first: no message waits
   * behind a longer delay.
   */
  async #delayRoute(
    queue: string,
    queueArguments: Record<string, unknown>,
    delayMs: number,
  ): Promise<string> {
    const ms = delayBucket(delayMs);
    if (ms === 0) return queue;
    const name = `${queue}.delay.${ms}`;
    const declared = this.#delayQueues.get(name);
    if (declared === undefined || Date.now() - declared > REDECLARE_AFTER_MS) {
      const quorum = queueArguments['x-queue-type'] === 'quorum';
      await this.#connection.queueDeclare({
        queue: name,
        durable: true,
        arguments: {
          'x-queue-type': quorum ? 'quorum' : 'classic',
          'x-message-ttl': ms,
          'x-expires': ms + DELAY_QUEUE_MARGIN_MS,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': queue,
          ...(quorum ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' } : {}),
        },
      });
      this.#delayQueues.set(name, Date.now());
    }
    return name;
  }

  async close(): Promise<void> {
    this.#watcher.stop();
    await Promise.allSettled([...this.#closing]);
    await this.#publisher.close().catch(() => undefined);
    await this.#connection.close().catch(() => undefined);
  }
}
