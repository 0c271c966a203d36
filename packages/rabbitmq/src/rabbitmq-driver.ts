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
  redact,
  StatusRelay,
  safeCause,
  withTimeout,
} from '@omnibus/core';
import type { Connection, Envelope, Publisher } from 'rabbitmq-client';
import { envelopeOf } from './envelope.js';
import type { ResolvedRabbitMqOptions } from './options.js';
import { QueueConsumer } from './queue-consumer.js';
import { bindingKeyOf, routingKeyOf } from './routing.js';

const BACKEND = 'rabbitmq';
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
  readonly #publisher: Publisher;
  readonly #options: ResolvedRabbitMqOptions;
  readonly #relay = new StatusRelay();
  /** Delay queues declared by this bus, with when. */
  readonly #delayQueues = new Map<string, number>();
  /** Subscriptions closing in the background (channels waiting for their last settle, queues being removed). */
  readonly #closing = new Set<Promise<void>>();
  #exchangeReady: Promise<void> | undefined;
  #storeReady: Promise<void> | undefined;

  constructor(connection: Connection, options: ResolvedRabbitMqOptions) {
    this.#connection = connection;
    this.#options = options;
    this.#publisher = connection.createPublisher({ confirm: true, maxAttempts: 2 });
    this.#publisher.on('retry', (error) =>
      this.#status('publish_retried', (error as Error)?.message ?? String(error)),
    );
    this.capabilities = Object.freeze({
      durable: true, // persistent messages in durable quorum queues, publisher confirms
      replay: false,
      groups: true,
      dedupe: false,
      delayedNak: true,
      ordering: 'subject',
      groupBalance: 'message',
      wildcards: 'native',
      maxPayloadBytes: options.maxPayloadBytes,
    } satisfies Capabilities);
    let lost = false;
    connection.on('error', (error) => {
      this.#status('error', (error as Error)?.message ?? String(error), lost ? undefined : 'lost');
      lost = true;
    });
    connection.on('connection', () => {
      if (lost) this.#status('reconnected', undefined, 'restored');
      lost = false;
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

  /** The dead-letter store: a quorum queue of the bus's prefix, declared at the first dead letter. */
  #deadLetterStore(): Promise<void> {
    const { exchange, queuePrefix } = this.#options;
    const queue = `${queuePrefix}dead-letters`;
    this.#storeReady ??= (async () => {
      await this.#connection.queueDeclare({ queue, durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await this.#connection.queueBind({ queue, exchange, routingKey: DEAD_LETTER_STORE_KEY });
    })().catch((error: unknown) => {
      this.#storeReady = undefined;
      throw error;
    });
    return this.#storeReady;
  }

  async probe(): Promise<void> {
    await this.#connection.exchangeDeclare({
      exchange: this.#options.exchange,
      type: 'topic',
      durable: true,
    });
  }

  async publish(message: OutgoingMessage): Promise<DriverReceipt> {
    const routingKey = routingKeyOf(message.subject);
    try {
      await this.#exchange();
      const envelope = envelopeOf(message, this.#options.exchange, routingKey);
      if (message.headers[DLQ_HEADERS.reason] !== undefined) {
        await this.#deadLetterStore();
        (envelope.headers as Record<string, unknown>).CC = [DEAD_LETTER_STORE_KEY];
      }
      await this.#send(envelope, message.payload);
    } catch (error) {
      throw new PublishError(
        `publish to "${message.subject}" failed: ${(error as Error)?.message ?? error}`,
        {
          backend: BACKEND,
          cause: safeCause(error),
        },
      );
    }
    return { duplicate: false };
  }

  /** Sends with a confirm, bounded by `publishTimeoutMs` (outcome unknown when it runs out). */
  #send(envelope: Envelope, payload: Uint8Array): Promise<void> {
    const body = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    const limit = this.#options.publishTimeoutMs;
    return withTimeout(
      this.#publisher.send(envelope, body),
      limit,
      `no confirm from RabbitMQ within ${limit} ms (publishTimeoutMs); the message may have been stored`,
    );
  }

  async subscribe(request: DriverSubscribeRequest): Promise<DriverSubscription> {
    const { queuePrefix, exchange } = this.#options;
    const grouped = request.group !== undefined;
    const queue = grouped ? `${queuePrefix}group.${request.group}` : `${queuePrefix}sub.${request.id}`;
    const routingKey = bindingKeyOf(request.pattern);
    const queueArguments: Record<string, unknown> = grouped
      ? { 'x-queue-type': 'quorum' }
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
    await Promise.allSettled([...this.#closing]);
    await this.#publisher.close().catch(() => undefined);
    await this.#connection.close().catch(() => undefined);
  }
}
