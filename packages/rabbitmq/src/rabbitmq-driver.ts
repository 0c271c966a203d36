import {
  type BusDriver,
  type BusStatus,
  type Capabilities,
  ConfigError,
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
  settledWithin,
  watchResponsiveness,
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
/** A publish the broker refused (`basic.nack`), as rabbitmq-client reports it. */
function isNack(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'NACK';
}

/** Why the publisher is renewed after a nack. */
const NACK_RENEWAL = 'the broker rejected a publish (basic.nack): publishing on a new channel';
/** A publish is not retried with less time left than this (it could only time out). */
const MIN_RETRY_MS = 100;

/** RabbitMQ has no dedupe: every confirmed publish is a new message. */
const RECEIPT: DriverReceipt = Object.freeze({ duplicate: false });
/** An ungrouped subscription's queue outlives a crashed process by this long (then RabbitMQ removes it). */
const SUBSCRIPTION_QUEUE_EXPIRES_MS = 5 * 60_000;
/** A delay queue is removed this long after it was last declared, well after its last message expired. */
const DELAY_QUEUE_MARGIN_MS = 10 * 60_000;
/** A delay queue is declared again when its last declaration is older than this. */
const REDECLARE_AFTER_MS = 2 * 60_000;
/** How often the broker is probed, and how long without any answer before the connection counts as lost. */
const PROBE_EVERY_MS = 1_000;
const UNRESPONSIVE_AFTER_MS = 3_000;
/** How long a closing subscription waits for its deliveries to be settled before its channel closes. */
const SETTLE_ON_CLOSE_MS = 10_000;

/** A message's body as the client sends it (a Buffer over the same bytes, never JSON). */
const bodyOf = (message: OutgoingMessage): Buffer =>
  Buffer.from(message.payload.buffer, message.payload.byteOffset, message.payload.byteLength);

/** The `PublishError` of a batch whose entry `first` failed: that entry and every later one may be stored. */
function batchError(first: number, length: number, accepted: DriverReceipt[], error: unknown): PublishError {
  return new PublishError(`publishBatch: entry ${first} failed: ${(error as Error)?.message ?? error}`, {
    backend: BACKEND,
    cause: safeCause(error),
    accepted,
    maybeStored: Array.from({ length: length - first }, (_, k) => first + k),
  });
}

/** The longest redelivery delay: 24 days (RabbitMQ's TTL and expiry arguments stop at 2^32 − 1 ms). */
export const MAX_DELAY_MS = 24 * 24 * 60 * 60 * 1000;
/** How long close() waits for channels to close before it drops the connection (ms). */
const CLOSE_LIMIT_MS = 5_000;

/**
 * A delay rounded up to two significant digits (at most 10 % later, never earlier), so a
 * backoff with jitter needs a bounded number of delay queues; at most `MAX_DELAY_MS`.
 */
export function delayBucket(delayMs: number): number {
  const ms = Math.min(MAX_DELAY_MS, Math.max(0, Math.ceil(delayMs)));
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
  /** Publishers replaced by `#renewPublisher`, closed `publishTimeoutMs` later or at close. */
  readonly #stalePublishers = new Set<Publisher>();
  readonly #options: ResolvedRabbitMqOptions;
  readonly #relay = new StatusRelay();
  /** Delay queues declared by this bus, with when. */
  readonly #delayQueues = new Map<string, number>();
  /** Each group's pattern on this bus (the contract: a group has one pattern). */
  readonly #groupPatterns = new Map<string, string>();
  /** Subscriptions closing in the background (channels waiting for their last settle, queues being removed). */
  readonly #closing = new Set<Promise<void>>();
  #exchangeReady: Promise<void> | undefined;
  #storeReady: Promise<undefined> | undefined;
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
  #deadLetterStore(): Promise<string> {
    const queue = `${this.#options.queuePrefix}dead-letters`;
    this.#storeReady ??= this.#connection
      .queueDeclare({ queue, durable: true, arguments: { 'x-queue-type': this.#options.queueType } })
      .then(() => undefined)
      .catch((error: unknown) => {
        this.#storeReady = undefined;
        throw error;
      });
    return this.#storeReady.then(() => queue);
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

  /**
   * Publishes to the exchange and resolves on the confirm. A dead-letter copy (it carries
   * `omnibus-dlq-reason`) is also sent, confirmed, straight to the dead-letter store through the
   * default exchange: kept whether or not anything subscribes to its subject, and never routed
   * to a binding it does not match.
   */
  async publish(message: OutgoingMessage): Promise<DriverReceipt> {
    const routingKey = routingKeyOf(message.subject);
    try {
      await this.#exchange();
      const envelope = envelopeOf(message, this.#options.exchange, routingKey);
      if (message.headers[DLQ_HEADERS.reason] === undefined)
        await this.#sendConfirmed(envelope, bodyOf(message));
      else {
        // a dead letter: also kept in the store (declared first, so both sends are awaited together)
        const store = await this.#deadLetterStore();
        await Promise.all([
          this.#sendConfirmed(envelope, bodyOf(message)),
          this.#sendConfirmed(envelopeOf(message, '', store), bodyOf(message)),
        ]);
      }
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
   * Sent together on the publisher's channel (pipelined; RabbitMQ confirms in order), under one
   * `publishTimeoutMs`. Every routing key is checked first, so a bad subject sends nothing. On a
   * failure, `accepted` is the prefix confirmed before the first failed entry; that entry and
   * every later one may have been stored (a lost confirm). A nack renews the publisher's channel.
   */
  async publishBatch(messages: readonly OutgoingMessage[]): Promise<DriverReceipt[]> {
    const keys = messages.map((m) => routingKeyOf(m.subject));
    if (messages.some((m) => m.headers[DLQ_HEADERS.reason] !== undefined)) {
      // dead-letter copies are published one by one (each also goes to the store)
      const receipts: DriverReceipt[] = [];
      for (const [i, m] of messages.entries()) {
        try {
          receipts.push(await this.publish(m));
        } catch (error) {
          throw batchError(i, messages.length, receipts, error);
        }
      }
      return receipts;
    }
    try {
      await this.#exchange();
    } catch (error) {
      throw new PublishError(`publishBatch failed: ${(error as Error)?.message ?? error}; nothing was sent`, {
        backend: BACKEND,
        cause: safeCause(error),
      });
    }
    const publisher = this.#publisher;
    const { exchange } = this.#options;
    const sends = messages.map((m, i) =>
      publisher.send(envelopeOf(m, exchange, keys[i] as string), bodyOf(m)),
    );
    const results = await this.#confirmed(Promise.allSettled(sends)).catch((error: unknown) =>
      sends.map((): PromiseSettledResult<void> => ({ status: 'rejected', reason: error })),
    );
    if (results.some((r) => r.status === 'rejected' && isNack(r.reason)) && this.#publisher === publisher)
      this.#renewPublisher(NACK_RENEWAL);
    const first = results.findIndex((r) => r.status === 'rejected');
    if (first < 0) return messages.map(() => RECEIPT);
    const accepted = messages.slice(0, first).map(() => RECEIPT);
    throw batchError(first, messages.length, accepted, (results[first] as PromiseRejectedResult).reason);
  }

  /**
   * Waits for confirms at most `publishTimeoutMs` (the outcome is unknown when it runs out). A
   * confirm that never came means a channel the broker no longer serves (seen after a restart
   * that crashed channel processes): the publisher is replaced, so later publishes use a new one.
   */
  async #confirmed<T>(confirms: Promise<T>, limit = this.#options.publishTimeoutMs): Promise<T> {
    const publisher = this.#publisher;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        confirms,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            if (this.#publisher === publisher)
              this.#renewPublisher('a confirm never came: publishing on a new channel');
            reject(
              new Error(
                `no confirm from RabbitMQ within ${limit} ms (publishTimeoutMs); the message may have been stored`,
              ),
            );
          }, limit);
        }),
      ]);
    } catch (error) {
      // RabbitMQ 3.10 nacks every later publish on a channel that published to a quorum queue
      // while its leader failed over (until the old leader is back), where a new channel is
      // confirmed at once: the faults suite's cluster row found it
      if (isNack(error) && this.#publisher === publisher) this.#renewPublisher(NACK_RENEWAL);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends one message and resolves on its confirm, within `publishTimeoutMs`. A nack (after which
   * `#confirmed` renews the publisher) or a channel or connection lost before the confirm is
   * retried once, on the current channel, with the time left (at least `MIN_RETRY_MS`). After a
   * nack the broker did not take the message, so the second send is normally its only stored
   * copy; after a lost channel the first may have been stored too (a duplicate, as at-least-once
   * allows). A confirm that never came (`publishTimeoutMs`) is not retried.
   */
  async #sendConfirmed(envelope: Envelope, body: Buffer): Promise<void> {
    const deadline = Date.now() + this.#options.publishTimeoutMs;
    try {
      await this.#confirmed(this.#publisher.send(envelope, body));
    } catch (error) {
      const left = deadline - Date.now();
      if (!(isNack(error) || error instanceof AMQPChannelError) || left < MIN_RETRY_MS) throw error;
      this.#status('publish_retried', (error as Error)?.message ?? String(error));
      await this.#confirmed(this.#publisher.send(envelope, body), left);
    }
  }

  /** Publishes a redelivery copy (through the default exchange) and resolves on its confirm. */
  #sendCopy(envelope: Envelope, payload: Uint8Array): Promise<void> {
    return this.#sendConfirmed(envelope, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  }

  #newPublisher(): Publisher {
    // one attempt: #sendConfirmed retries, after a nack on a new channel
    return this.#connection.createPublisher({ confirm: true });
  }

  #renewPublisher(why: string): void {
    const stale = this.#publisher;
    this.#publisher = this.#newPublisher();
    this.#status('publisher_renewed', why);
    // closed once the publishes still waiting on it have had their time (closing it now would
    // fail them with CH_CLOSE although they may be stored)
    this.#stalePublishers.add(stale);
    setTimeout(() => {
      this.#stalePublishers.delete(stale);
      void stale.close().catch(() => undefined);
    }, this.#options.publishTimeoutMs).unref();
  }

  async subscribe(request: DriverSubscribeRequest): Promise<DriverSubscription> {
    const { queuePrefix, exchange } = this.#options;
    const grouped = request.group !== undefined;
    if (request.group !== undefined) {
      const known = this.#groupPatterns.get(request.group);
      if (known !== undefined && known !== request.pattern)
        throw new ConfigError(
          'group',
          `group "${request.group}" already consumes "${known}" on this bus; a group has one pattern`,
          { backend: BACKEND },
        );
      this.#groupPatterns.set(request.group, request.pattern);
    }
    const queue = grouped ? `${queuePrefix}group.${request.group}` : `${queuePrefix}sub.${request.id}`;
    const routingKey = bindingKeyOf(request.pattern);
    const queueArguments: Record<string, unknown> = grouped
      ? { 'x-queue-type': this.#options.queueType }
      : { 'x-queue-type': 'classic', 'x-expires': SUBSCRIPTION_QUEUE_EXPIRES_MS };
    const declare = async () => {
      await this.#exchange();
      try {
        await this.#connection.queueDeclare({ queue, durable: true, arguments: queueArguments });
      } catch (error) {
        // an existing queue of another type (or other arguments): say which option decides it
        if ((error as { code?: unknown })?.code !== 'PRECONDITION_FAILED') throw error;
        throw new ConfigError(
          'queueType',
          `queue "${queue}" exists with other arguments than this bus declares (${String((error as Error).message).slice(0, 300)})`,
          {
            backend: BACKEND,
            hint: `set queueType to the type the queue has (this bus asked for "${this.#options.queueType}"), or delete the queue (rabbitmqctl delete_queue ${queue}) to create it anew`,
          },
        );
      }
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
      publishCopy: (envelope, body) => this.#sendCopy(envelope, body),
      status: (type, detail) => this.#status(type, detail),
    });
    try {
      await consumer.start();
    } catch (error) {
      // an ungrouped subscription that never started leaves no queue collecting messages
      if (!grouped) await this.#connection.queueDelete({ queue }).catch(() => undefined);
      throw error;
    }
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
      const now = Date.now();
      if (this.#delayQueues.size >= 1_000)
        for (const [known, at] of this.#delayQueues)
          if (now - at > REDECLARE_AFTER_MS) this.#delayQueues.delete(known);
      this.#delayQueues.set(name, now);
    }
    return name;
  }

  async close(): Promise<void> {
    this.#watcher.stop();
    await Promise.allSettled([...this.#closing]);
    // bounded: a channel the broker stopped answering would keep close() (and the process) waiting
    const closed = await settledWithin(
      (async () => {
        await this.#publisher.close().catch(() => undefined);
        for (const stale of this.#stalePublishers) await stale.close().catch(() => undefined);
        this.#stalePublishers.clear();
        await this.#connection.close().catch(() => undefined);
      })(),
      CLOSE_LIMIT_MS,
    );
    if (!closed) this.#connection.unsafeDestroy();
  }
}
