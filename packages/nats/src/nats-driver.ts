import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
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
  type BusStatus,
  type Capabilities,
  ConfigError,
  ConnectionError,
  type DriverReceipt,
  type DriverSubscribeRequest,
  type DriverSubscription,
  OmnibusError,
  type OutgoingMessage,
  PublishError,
  redact,
  StatusRelay,
  safeCause,
  settledWithin,
} from '@omnibus/core';
import { AckBatcher } from './ack-batcher.js';
import { CapacityPool } from './capacity-pool.js';
import { publishCore, subscribeCore } from './core-path.js';
import { encodeHeaders } from './envelope.js';
import { FanOut, groupStart, type StartAt } from './fan-out.js';
import { GroupRegistry, type Registration } from './group-registry.js';
import { HandOutLedger } from './hand-out-ledger.js';
import { isConsumerNotFound, isNoStreamForPublish, isOutage, isPublishRefused } from './nats-errors.js';
import { NatsManagement } from './nats-management.js';
import type { ResolvedNatsOptions } from './options.js';
import { ackWaitMs, PullLoop } from './pull-loop.js';
import { StreamWatcher } from './stream-watcher.js';
import { StreamRegistry, type StreamTarget } from './streams.js';

const MS = 1_000_000;
/** Room left under the server's max_payload for Omnibus and user headers. */
export const HEADER_ROOM = 8 * 1024;
/** Longest one publish try waits for the server's ack before it is retried (within `publishTimeoutMs`). */
const PUBLISH_TRY_MS = 1_000;
/** Longest `close()` waits for the connection to drain before it closes it anyway. */
const CLOSE_WAIT_MS = 2_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How much longer than `ackTimeoutMs` the server waits before it redelivers on its own. */
const ACK_WAIT_GRACE_MS = 1_000;

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
  readonly #ledger: HandOutLedger;
  readonly #watcher: StreamWatcher;
  readonly #groups: GroupRegistry;
  readonly #acks = new AckBatcher((error) => this.#status('ack_failed', (error as Error)?.message));
  /** Browse and remove stored messages, list groups with their figures (`manage(bus)`). */
  readonly management: NatsManagement;

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
    this.#ledger = new HandOutLedger(this.#js, jsm);
    this.#watcher = new StreamWatcher(nc, jsm, options.discoveryIntervalMs);
    let missingReported = false;
    this.#groups = new GroupRegistry(
      this.#js,
      jsm,
      options,
      (stream) => this.streams.created.push(stream),
      (detail) => {
        if (missingReported) return;
        missingReported = true;
        this.#status('group_registry_missing', detail);
      },
    );
    this.management = new NatsManagement(jsm, this.streams, this.#groups.stream);
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
      atMostOnce: { groups: true }, // core NATS, queue groups
    } satisfies Capabilities);
  }

  /**
   * Connects JetStream; fails with `ConnectionError` when JetStream is not enabled, and
   * with `ConfigError` when configured stream settings conflict with an existing stream
   * (see `StreamRegistry.checkExisting`). A failure closes an owned connection.
   */
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
    const driver = new NatsDriver(nc, owned, jsm, options);
    try {
      await driver.streams.checkExisting();
    } catch (error) {
      if (owned) await settledWithin(nc.close(), CLOSE_WAIT_MS);
      throw error;
    }
    return driver;
  }

  readonly #statusRelay = new StatusRelay();

  setStatusListener(listener: (status: BusStatus) => void): void {
    this.#statusRelay.listen(listener);
  }

  /**
   * Reports a status change to core, which logs connection loss and recovery and forwards
   * it to `onStatus`. The detail is redacted: it often carries an error's message, and
   * client and server errors may quote a URL with credentials.
   */
  report(status: BusStatus): void {
    this.#statusRelay.report(
      status.detail === undefined ? status : { ...status, detail: redact(status.detail) },
    );
  }

  #status(type: string, detail?: string): void {
    this.report({ type, detail });
  }

  /** Readiness: a round trip to the server. */
  async probe(): Promise<void> {
    if (this.nc.isClosed()) throw new Error('the connection is closed');
    await this.nc.rtt();
  }

  /**
   * One publish, retried through a short outage until `publishTimeoutMs`: each
   * try waits at most `PUBLISH_TRY_MS` for the server's ack, and every publish
   * carries a `Nats-Msg-Id`, so a retry whose first try was stored is recognised
   * as a duplicate by the stream, never stored twice.
   */
  async #publishOne(message: OutgoingMessage): Promise<DriverReceipt> {
    const target = this.streams.forSubject(message.subject);
    const deadline = Date.now() + this.#options.publishTimeoutMs;
    // the stream dedupes on Nats-Msg-Id: the publisher's id, or one fresh per call (stable across
    // this call's retries) — never a generated or copied id, which a dead-letter copy shares
    // with its original
    // per call and unguessable: a generated id's only job is to make this call's retries safe
    const msgID = message.dedupe ? message.id : `omnibus-${globalThis.crypto.randomUUID()}`;
    for (let tries = 1; ; tries++) {
      try {
        await this.streams.ensure(target);
        const ack: PubAck = await this.#js.publish(message.subject, message.payload, {
          headers: encodeHeaders(message.headers, message.id, message.publishedAt),
          msgID,
          timeout: Math.max(1, Math.min(PUBLISH_TRY_MS, deadline - Date.now())),
        });
        // a generated id can only repeat through our own retry: that is the first copy, not a duplicate
        const duplicate = ack.duplicate && (message.dedupe || tries === 1);
        return { duplicate, sequence: `${ack.stream}:${ack.seq}` };
      } catch (error) {
        // no stream answered: deleted from outside since we verified it, or a restarted server whose
        // JetStream is not ready yet; verify (or provision) again on the next try
        const noStream = isNoStreamForPublish(error);
        if (noStream) this.streams.forget(target.name);
        const left = deadline - Date.now();
        if ((noStream || isOutage(error)) && left > 0 && !this.nc.isClosed()) {
          await sleep(Math.min(left, 50 * 2 ** Math.min(tries, 4)));
          continue;
        }
        if (error instanceof OmnibusError) throw error;
        throw new PublishError(
          `publish to "${message.subject}" failed: ${(error as Error)?.message ?? error}`,
          {
            backend: 'nats',
            cause: safeCause(error),
          },
        );
      }
    }
  }

  publish(message: OutgoingMessage): Promise<DriverReceipt> | DriverReceipt {
    if (message.atMostOnce) return publishCore(this.nc, message);
    return this.#publishOne(message);
  }

  /**
   * Pipelined: every entry is sent, in order, before any ack is awaited. The
   * stream stores one connection's messages in the order they arrive, so the
   * entries of one subject are stored in batch order. Entries that failed are
   * sent again together (same `Nats-Msg-Id`, so a copy already stored is
   * recognised as a duplicate) while every failure is passing (a timeout, an
   * outage, no stream yet) and a resend cannot overtake a later entry of its
   * stream that is already stored; otherwise the batch fails with `accepted` =
   * the acknowledged prefix and `maybeStored` = the later entries acknowledged or
   * without an answer (an entry the server refused was not stored).
   */
  async publishBatch(messages: readonly OutgoingMessage[]): Promise<DriverReceipt[]> {
    const targets = messages.map((m) => this.streams.forSubject(m.subject));
    // provision first, so the pipelined publishes below leave in order without waiting
    for (const target of targets) await this.streams.ensure(target);
    const deadline = Date.now() + this.#options.publishTimeoutMs;
    // as in #publishOne: the publisher's id, or one fresh per entry, stable across this call's resends
    const sends = messages.map((m) => ({
      headers: encodeHeaders(m.headers, m.id, m.publishedAt),
      msgID: m.dedupe ? m.id : `omnibus-${globalThis.crypto.randomUUID()}`,
    }));
    const receipts: (DriverReceipt | undefined)[] = messages.map(() => undefined);
    const failures = new Map<number, unknown>();
    // a later entry of the same stream is stored: resending `i` now would store it after that one
    const lastStored = new Map<string, number>(); // per stream, the last index acknowledged
    const overtaken = (i: number) => (lastStored.get(targets[i]?.name as string) ?? -1) > i;
    let pending = messages.map((_, i) => i);
    for (let round = 1; ; round++) {
      const timeout = Math.max(1, Math.min(PUBLISH_TRY_MS + pending.length, deadline - Date.now()));
      // one synchronous loop: the requests leave in batch order
      const results = await Promise.allSettled(
        pending.map((i) => {
          const m = messages[i] as OutgoingMessage;
          const send = sends[i] as { headers: ReturnType<typeof encodeHeaders>; msgID: string };
          return this.#js.publish(m.subject, m.payload, {
            headers: send.headers,
            msgID: send.msgID,
            timeout,
          });
        }),
      );
      const failed: number[] = [];
      results.forEach((result, j) => {
        const i = pending[j] as number;
        if (result.status === 'fulfilled') {
          const ack = result.value;
          // a generated id repeats only through our own resend: that is the first copy, not a duplicate
          const duplicate = ack.duplicate && ((messages[i] as OutgoingMessage).dedupe || round === 1);
          receipts[i] = { duplicate, sequence: `${ack.stream}:${ack.seq}` };
          const stream = targets[i]?.name as string;
          lastStored.set(stream, Math.max(i, lastStored.get(stream) ?? -1));
          failures.delete(i);
        } else {
          failures.set(i, result.reason);
          failed.push(i);
        }
      });
      if (failed.length === 0) return receipts as DriverReceipt[];
      const left = deadline - Date.now();
      const resend =
        left > 0 &&
        !this.nc.isClosed() &&
        failed.every((i) => {
          const error = failures.get(i);
          if (!isNoStreamForPublish(error) && !isOutage(error)) return false;
          // no answer: it was stored before any later entry of its stream, or not at all
          return !isPublishRefused(error) || !overtaken(i);
        });
      if (!resend) break;
      await sleep(Math.min(left, 50 * 2 ** Math.min(round, 4)));
      // no stream answered: verify (or provision) it again, as #publishOne does; a stream that
      // cannot be (verify mode, other settings) ends the batch, anything else is tried next round
      let refused = false;
      for (const name of new Set(
        failed.filter((i) => isNoStreamForPublish(failures.get(i))).map((i) => targets[i]?.name),
      )) {
        const target = targets.find((t) => t.name === name) as StreamTarget;
        this.streams.forget(target.name);
        refused = await this.streams.ensure(target).then(
          () => false,
          (error: unknown) => error instanceof OmnibusError,
        );
        if (refused) break;
      }
      if (refused) break; // those entries stay refused (not stored)
      pending = failed;
    }
    const first = receipts.indexOf(undefined);
    const maybeStored: number[] = [];
    for (let i = first + 1; i < messages.length; i++) {
      if (receipts[i] !== undefined || !isPublishRefused(failures.get(i))) maybeStored.push(i);
    }
    if (!isPublishRefused(failures.get(first))) maybeStored.unshift(first);
    const cause = failures.get(first);
    throw new PublishError(
      `publishBatch: entry ${first} ("${messages[first]?.subject}") failed: ${(cause as Error)?.message ?? cause}`,
      {
        backend: 'nats',
        cause: safeCause(cause),
        accepted: receipts.slice(0, first) as DriverReceipt[],
        maybeStored,
      },
    );
  }

  #consumerConfig(
    request: DriverSubscribeRequest,
    name: string,
    filter = request.pattern,
  ): Partial<ConsumerConfig> {
    const config: Partial<ConsumerConfig> = {
      filter_subject: filter,
      ack_policy: AckPolicy.Explicit,
      // core naks what is not settled within ackTimeoutMs of its hand-out; the server's ack wait,
      // a little longer, is the backstop for a member that crashed (see PullLoop's onHandOut)
      ack_wait: (request.ackTimeoutMs + ACK_WAIT_GRACE_MS) * MS,
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
    filter = request.pattern,
    start?: StartAt,
  ): Promise<ConsumerInfo> {
    const config = this.#consumerConfig(request, name, filter);
    if (start && 'all' in start) {
      config.deliver_policy = DeliverPolicy.All;
      delete config.opt_start_time;
    } else if (start) {
      config.deliver_policy = DeliverPolicy.StartTime;
      config.opt_start_time = start.time;
    }
    if (resumeAfterSeq > 0) {
      config.deliver_policy = DeliverPolicy.StartSequence;
      config.opt_start_seq = resumeAfterSeq + 1;
      delete config.opt_start_time;
    }
    if (request.group) {
      let existing: ConsumerInfo | undefined;
      try {
        existing = await this.#jsm.consumers.info(stream, name);
      } catch (error) {
        if (!isConsumerNotFound(error)) throw error;
      }
      if (existing) {
        if (existing.config.filter_subject !== filter) {
          throw new ConfigError(
            'group',
            `group "${name}" already consumes "${existing.config.filter_subject}"; a group has one pattern`,
            {
              backend: 'nats',
            },
          );
        }
        return this.#reconcileAckWait(stream, name, existing, request);
      }
    }
    try {
      return await this.#jsm.consumers.add(stream, config);
    } catch (error) {
      // another member created the group's durable meanwhile (its start may differ by a moment)
      if (!request.group) throw error;
      const info = await this.#jsm.consumers.info(stream, name).catch(() => undefined);
      if (info?.config.filter_subject !== filter) throw error;
      return this.#reconcileAckWait(stream, name, info, request);
    }
  }

  /**
   * A group's durable made before (by an older version, whose `ack_wait` was
   * `ackTimeoutMs`, or by a member with a shorter `ackTimeoutMs`) may redeliver a
   * message this member still holds, before core's ack timeout: its `ack_wait` is
   * raised to what this member needs (`ackTimeoutMs` + 1 s), never lowered (a member
   * with a longer timeout needs the longer wait). Checked again after the update:
   * two members raising it at once end at the larger of their needs.
   */
  async #reconcileAckWait(
    stream: string,
    name: string,
    info: ConsumerInfo,
    request: DriverSubscribeRequest,
  ): Promise<ConsumerInfo> {
    const need = (request.ackTimeoutMs + ACK_WAIT_GRACE_MS) * MS;
    let current = info;
    for (let tries = 0; (current.config.ack_wait ?? 0) < need; tries++) {
      if (tries === 3) {
        throw new ConfigError(
          'ackTimeoutMs',
          `group "${name}" on stream ${stream}: its durable's ack_wait stays at ${ackWaitMs(current)} ms, shorter than ackTimeoutMs + ${ACK_WAIT_GRACE_MS} ms (${need / MS} ms)`,
          { backend: 'nats' },
        );
      }
      try {
        await this.#jsm.consumers.update(stream, name, { ack_wait: need });
      } catch (error) {
        throw new ConfigError(
          'ackTimeoutMs',
          `group "${name}" on stream ${stream}: its durable's ack_wait (${ackWaitMs(current)} ms) is shorter than ackTimeoutMs + ${ACK_WAIT_GRACE_MS} ms (${need / MS} ms) and could not be raised: ${(error as Error)?.message ?? error}`,
          { backend: 'nats', cause: safeCause(error) },
        );
      }
      current = await this.#jsm.consumers.info(stream, name);
    }
    return current;
  }

  /**
   * One pull loop feeding `request`'s subscription from the consumer `name` on
   * `stream`, whose actual `ack_wait` is `ackWait` ms (a group's durable may wait
   * longer than this member asked for).
   */
  #pullLoop(
    request: DriverSubscribeRequest,
    stream: string,
    name: string,
    pool: CapacityPool,
    recreate: (lastSeq: number) => Promise<ConsumerInfo | undefined>,
    ackWait: number,
  ): PullLoop {
    return new PullLoop({
      js: this.#js,
      stream,
      consumer: name,
      sink: request.sink,
      pool,
      expiresMs: this.#options.pullExpiresMs,
      heartbeatMs: Math.floor(this.#options.pullExpiresMs / 2),
      ackWaitMs: ackWait,
      drainOnStop: request.group !== undefined,
      ledger: request.group !== undefined ? this.#ledger : undefined,
      recreate,
      flush: () => this.nc.flush(),
      ack: (m) => this.#acks.ack(m),
      flushAcks: () => this.#acks.flush(),
      status: (type, detail) => this.#status(type, detail),
    });
  }

  /**
   * Records a group's first subscribe (or finds it): see `GroupRegistry`. A registry
   * that cannot be used (an explicit stream capturing `_omnibus.>`, a failing server)
   * is reported in `errors` and as `group_registry_failed`, and the group then counts
   * from its oldest durable, as before the registry.
   */
  async #register(request: DriverSubscribeRequest): Promise<Registration | undefined> {
    if (request.group === undefined) return undefined;
    try {
      return await this.#groups.register(request.group, request.pattern);
    } catch (error) {
      request.sink.reportError(error);
      this.#status('group_registry_failed', (error as Error)?.message ?? String(error));
      return undefined;
    }
  }

  /**
   * A pattern starting with a wildcard spans the automatic streams: emulated with a
   * consumer per matching stream and discovery of new streams (see `FanOut`).
   */
  #fanOut(request: DriverSubscribeRequest): Promise<FanOut> {
    return FanOut.start({
      jsm: this.#jsm,
      registry: this.streams,
      watcher: this.#watcher,
      request,
      register: () => this.#register(request),
      createConsumer: (stream, name, filter, start, resumeAfterSeq = 0) =>
        this.#createConsumer(stream, request, name, resumeAfterSeq, filter, start),
      loop: (stream, name, pool, recreate, ackWait) =>
        this.#pullLoop(request, stream, name, pool, recreate, ackWait),
      status: (type, detail) => this.#status(type, detail),
      flushAcks: () => this.#acks.flush(),
    });
  }

  async subscribe(request: DriverSubscribeRequest): Promise<DriverSubscription> {
    if (request.atMostOnce) return subscribeCore(this.nc, request);
    if (this.streams.spansStreams(request.pattern)) return this.#fanOut(request);
    const target = this.streams.forPattern(request.pattern);
    // a group that existed before (its stream deleted and made again since, say) and has no
    // durable here starts at its first subscribe; a new group at `from`
    const registration = await this.#register(request);
    const start = registration && !registration.fresh ? groupStart(request, registration.since) : undefined;
    const stream = await this.streams.ensure(target);
    const name = request.group ?? `omnibus_${request.id}`;
    const info = await this.#createConsumer(stream, request, name, 0, request.pattern, start);
    const pool = new CapacityPool(request.sink, request.maxInFlight);
    const loop = this.#pullLoop(
      request,
      stream,
      name,
      pool,
      async (lastSeq) => {
        this.streams.forget(target.name);
        const recreated = await this.#createConsumer(
          await this.streams.ensure(target),
          request,
          name,
          lastSeq,
          request.pattern,
          start,
        );
        this.#status('consumer_recreated', name);
        return recreated;
      },
      ackWaitMs(info),
    );
    loop.start();
    return {
      stop: async () => {
        await loop.stop();
        this.#acks.flush();
        if (!request.group) await this.#jsm.consumers.delete(stream, name).catch(() => false);
      },
    };
  }

  /**
   * Drains (or, for an adopted connection, flushes) — bounded: with the server
   * away, a drain would wait for the reconnect forever, so after
   * `CLOSE_WAIT_MS` an owned connection is closed without it.
   */
  /** Stops forwarding the connection's status (set by `createNatsBus`). */
  stopWatching: () => void = () => undefined;

  async close(): Promise<void> {
    this.stopWatching();
    this.#acks.flush();
    if (!this.#owned) {
      await settledWithin(this.nc.flush(), CLOSE_WAIT_MS);
      return;
    }
    if (!(await settledWithin(this.nc.drain(), CLOSE_WAIT_MS)))
      await settledWithin(this.nc.close(), CLOSE_WAIT_MS);
  }
}
