import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type PubAck,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  type BusDriver,
  type Capabilities,
  ConfigError,
  ConnectionError,
  type DriverReceipt,
  type DriverSubscribeRequest,
  type DriverSubscription,
  type OutgoingMessage,
  PublishError,
  safeCause,
} from '@omnibus/core';
import { encodeHeaders } from './envelope.js';
import { isConsumerNotFound, isNoStreamForPublish } from './nats-errors.js';
import type { ResolvedNatsOptions } from './options.js';
import { PullLoop } from './pull-loop.js';
import { ReleaseLedger } from './release-ledger.js';
import { StreamRegistry } from './streams.js';

const MS = 1_000_000;
/** Room left under the server's max_payload for Omnibus and user headers. */
export const HEADER_ROOM = 8 * 1024;

/** The JetStream transport behind `createNatsBus`. */
export class NatsDriver implements BusDriver {
  readonly backend = 'nats';
  readonly capabilities: Readonly<Capabilities>;
  readonly nc: NatsConnection;
  readonly streams: StreamRegistry;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #options: ResolvedNatsOptions;
  readonly #owned: boolean;
  readonly #ledger: ReleaseLedger;

  private constructor(
    nc: NatsConnection,
    owned: boolean,
    jsm: JetStreamManager,
    options: ResolvedNatsOptions,
  ) {
    this.nc = nc;
    this.#owned = owned;
    this.#jsm = jsm;
    this.#js = jetstream(nc);
    this.#options = options;
    this.streams = new StreamRegistry(jsm, options);
    this.#ledger = new ReleaseLedger(this.#js, jsm);
    const serverMax = nc.info?.max_payload ?? 1024 * 1024;
    this.capabilities = Object.freeze({
      durable: (options.streamDefaults.storage ?? 'file') === 'file',
      replay: true,
      groups: true,
      dedupe: true,
      delayedNak: true,
      ordering: 'subject',
      groupBalance: 'message',
      wildcards: 'native',
      maxPayloadBytes: Math.min(options.maxPayloadBytes, serverMax - HEADER_ROOM),
    } satisfies Capabilities);
  }

  /** Connects JetStream; fails with `ConnectionError` when JetStream is not enabled. */
  static async create(nc: NatsConnection, owned: boolean, options: ResolvedNatsOptions): Promise<NatsDriver> {
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(nc);
    } catch (error) {
      if (owned) await nc.close().catch(() => undefined);
      throw new ConnectionError('JetStream is not available on this server (start nats-server with -js)', {
        backend: 'nats',
        cause: safeCause(error),
      });
    }
    return new NatsDriver(nc, owned, jsm, options);
  }

  #status(type: string, detail?: string): void {
    try {
      this.#options.onStatus?.({ type, detail });
    } catch {
      // ignore listener errors
    }
  }

  async #publishOne(message: OutgoingMessage, retry = true): Promise<DriverReceipt> {
    const target = this.streams.forSubject(message.subject);
    await this.streams.ensure(target);
    let ack: PubAck;
    try {
      ack = await this.#js.publish(message.subject, message.payload, {
        headers: encodeHeaders(message.headers, message.id, message.publishedAt),
        msgID: message.dedupe ? message.id : undefined,
      });
    } catch (error) {
      if (retry && isNoStreamForPublish(error)) {
        // the stream was deleted from outside since we verified it: provision again once
        this.streams.forget(target.name);
        return this.#publishOne(message, false);
      }
      throw new PublishError(
        `publish to "${message.subject}" failed: ${(error as Error)?.message ?? error}`,
        {
          backend: 'nats',
          cause: safeCause(error),
        },
      );
    }
    return { duplicate: ack.duplicate, sequence: `${ack.stream}:${ack.seq}` };
  }

  publish(message: OutgoingMessage): Promise<DriverReceipt> {
    return this.#publishOne(message);
  }

  /** Pipelined: every publish is sent before any ack is awaited. */
  async publishBatch(messages: readonly OutgoingMessage[]): Promise<DriverReceipt[]> {
    // provision first, so the pipelined publishes below leave in order without waiting
    for (const m of messages) await this.streams.ensure(this.streams.forSubject(m.subject));
    const results = await Promise.allSettled(messages.map((m) => this.#publishOne(m)));
    const firstFailure = results.findIndex((r) => r.status === 'rejected');
    if (firstFailure < 0) return results.map((r) => (r as PromiseFulfilledResult<DriverReceipt>).value);
    const accepted = results
      .slice(0, firstFailure)
      .map((r) => (r as PromiseFulfilledResult<DriverReceipt>).value);
    const cause = (results[firstFailure] as PromiseRejectedResult).reason;
    throw new PublishError(
      `publishBatch: entry ${firstFailure} failed (later entries may also have been accepted)`,
      {
        backend: 'nats',
        cause,
        accepted,
      },
    );
  }

  #consumerConfig(request: DriverSubscribeRequest, name: string): Partial<ConsumerConfig> {
    const config: Partial<ConsumerConfig> = {
      filter_subject: request.pattern,
      ack_policy: AckPolicy.Explicit,
      ack_wait: request.ackTimeoutMs * MS,
      max_deliver: -1, // Omnibus dead-letters after maxAttempts itself
    };
    if (request.from === 'new') config.deliver_policy = DeliverPolicy.New;
    else if (request.from === 'earliest') config.deliver_policy = DeliverPolicy.All;
    else {
      config.deliver_policy = DeliverPolicy.StartTime;
      config.opt_start_time = new Date(request.from.time).toISOString();
    }
    if (request.group) {
      config.durable_name = name;
    } else {
      config.name = name;
      config.max_ack_pending = request.maxInFlight;
      config.inactive_threshold = 60_000 * MS;
    }
    return config;
  }

  async #createConsumer(
    stream: string,
    request: DriverSubscribeRequest,
    name: string,
    resumeAfterSeq = 0,
  ): Promise<void> {
    const config = this.#consumerConfig(request, name);
    if (resumeAfterSeq > 0) {
      config.deliver_policy = DeliverPolicy.StartSequence;
      config.opt_start_seq = resumeAfterSeq + 1;
      delete config.opt_start_time;
    }
    if (request.group) {
      try {
        const info = await this.#jsm.consumers.info(stream, name);
        if (info.config.filter_subject !== request.pattern) {
          throw new ConfigError(
            'group',
            `group "${name}" already consumes "${info.config.filter_subject}"; a group has one pattern`,
            {
              backend: 'nats',
            },
          );
        }
        return;
      } catch (error) {
        if (!isConsumerNotFound(error)) throw error;
      }
    }
    await this.#jsm.consumers.add(stream, config);
  }

  async subscribe(request: DriverSubscribeRequest): Promise<DriverSubscription> {
    const target = this.streams.forPattern(request.pattern);
    const stream = await this.streams.ensure(target);
    const name = request.group ?? `omnibus_${request.id}`;
    await this.#createConsumer(stream, request, name);
    const loop = new PullLoop({
      js: this.#js,
      stream,
      consumer: name,
      sink: request.sink,
      expiresMs: this.#options.pullExpiresMs,
      heartbeatMs: Math.floor(this.#options.pullExpiresMs / 2),
      drainOnStop: request.group !== undefined,
      ledger: request.group !== undefined ? this.#ledger : undefined,
      minBatch: Math.max(1, Math.floor(request.maxInFlight / 4)),
      recreate: async (lastSeq) => {
        this.streams.forget(target.name);
        await this.#createConsumer(await this.streams.ensure(target), request, name, lastSeq);
        this.#status('consumer_recreated', name);
      },
      flush: () => this.nc.flush(),
      status: (type, detail) => this.#status(type, detail),
    });
    loop.start();
    return {
      stop: async () => {
        await loop.stop();
        if (!request.group) await this.#jsm.consumers.delete(stream, name).catch(() => false);
      },
    };
  }

  async close(): Promise<void> {
    if (this.#owned) await this.nc.drain().catch(() => undefined);
    else await this.nc.flush().catch(() => undefined);
  }
}
