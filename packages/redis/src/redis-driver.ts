import { hostname } from 'node:os';
import {
  type BusDriver,
  type BusStatus,
  type Capabilities,
  type DriverReceipt,
  type DriverSubscribeRequest,
  type DriverSubscription,
  hasWildcard,
  log,
  type OutgoingMessage,
  PublishError,
  redact,
  StatusRelay,
  safeCause,
  settledWithin,
  subjectMatches,
  withTimeout,
} from '@omnibus/core';
import { type AnyRedis, blockingClient, CONNECTION_CLOSED_EVENTS, watchClient } from './connection.js';
import { encodeHeaders } from './envelope.js';
import { parseRegistrations, startFor } from './group-registry.js';
import { Keys } from './keys.js';
import type { ResolvedRedisOptions } from './options.js';
import { PubSubPath } from './pub-sub-path.js';
import { createGroup, ReadLoop } from './read-loop.js';
import { RedisManagement } from './redis-management.js';
import { type Scripted, withScripts } from './scripted.js';
import { SubjectWatcher } from './subject-watcher.js';

const BACKEND = 'redis';
/** Longest `close()` waits for clean-up and `QUIT` before it drops the connection. */
const CLOSE_WAIT_MS = 2_000;
/**
 * How long a subject this process registered (by the publish script) is taken as
 * registered: within it, a publish without dedupe is a plain `XADD NOMKSTREAM`
 * (no script); after it, the next publish runs the script again. Every way a
 * stream is created registers its subject (the publish script, CREATE_GROUP), so
 * a stream that `NOMKSTREAM` finds is a registered subject's; one deleted from
 * outside answers nil, and the publish runs the script.
 */
const REGISTERED_FOR_MS = 1_000;
/** Main-client events after which a command in flight may have run without its reply reaching us. */

/** The Redis Streams transport behind `createRedisBus`. */
export class RedisDriver implements BusDriver {
  readonly backend = BACKEND;
  readonly capabilities: Readonly<Capabilities>;
  readonly keys: Keys;
  /** Browse and remove stored entries, list groups with their figures (`manage(bus)`). */
  readonly management: RedisManagement;
  readonly #client: AnyRedis & Scripted;
  readonly #owned: boolean;
  readonly #options: ResolvedRedisOptions;
  readonly #trimArgs: [string, string, string];
  readonly #groups = new Map<string, Set<ReadLoop>>();
  readonly #cleanUps = new Set<Promise<void>>();
  readonly #loops = new Set<ReadLoop>();
  #watcher: SubjectWatcher | undefined;
  #trimmed = 0;
  /** Subjects whose publish script ran, by when (see REGISTERED_FOR_MS). */
  readonly #registered = new Map<string, number>();
  /** How many times the main connection closed (see ReadLoopContext.connectionEpoch). */
  #connectionEpoch = 0;
  /** The at-most-once path (Pub/Sub). */
  readonly #pubSub: PubSubPath;
  readonly #onConnectionClosed = () => {
    this.#connectionEpoch++;
  };

  constructor(client: AnyRedis, owned: boolean, options: ResolvedRedisOptions, durable: boolean) {
    this.#client = withScripts(client);
    this.#owned = owned;
    this.#options = options;
    this.keys = new Keys(options.keyPrefix);
    this.management = new RedisManagement(this.#client, this.keys, options.publishTimeoutMs);
    this.#pubSub = new PubSubPath(this.#client, this.keys.tag);
    // a Cluster's node connections close without a 'close' of the cluster: 'node error' and '-node' tell
    for (const event of CONNECTION_CLOSED_EVENTS) this.#client.on(event, this.#onConnectionClosed);
    const { trim } = options;
    const op = trim.approximate ? '~' : '=';
    this.#trimArgs =
      trim.maxLen !== undefined
        ? ['MAXLEN', op, String(trim.maxLen)]
        : trim.maxAgeMs !== undefined
          ? ['MINID', op, String(trim.maxAgeMs)]
          : ['', '', ''];
    this.capabilities = Object.freeze({
      durable,
      replay: true,
      groups: true,
      dedupe: options.dedupeWindowMs > 0,
      delayedNak: true,
      ordering: 'subject',
      groupBalance: 'message',
      wildcards: 'emulated',
      maxPayloadBytes: options.maxPayloadBytes,
      atMostOnce: { groups: false }, // Pub/Sub: no shared subscriptions
    } satisfies Capabilities);
  }

  /** Messages trimmed away while pending (acknowledged, never redelivered). */
  extraStats(): { dropped: number } {
    return { dropped: this.#trimmed };
  }

  readonly #statusRelay = new StatusRelay();

  setStatusListener(listener: (status: BusStatus) => void): void {
    this.#statusRelay.listen(listener);
  }

  /** Reports a status change to core, which logs connection loss and recovery and forwards it to `onStatus`. */
  readonly report: (status: BusStatus) => void = this.#statusRelay.report;

  #status(type: string, detail?: string): void {
    this.report({ type, detail: detail === undefined ? undefined : redact(detail) });
  }

  /** Readiness: a PING. */
  async probe(): Promise<void> {
    await this.#client.ping();
  }

  #publishArgs(m: OutgoingMessage): (string | number | Buffer)[] {
    const dedupe = m.dedupe && this.capabilities.dedupe;
    return [
      this.keys.stream(m.subject),
      this.keys.dedupe(m.subject, m.id),
      this.keys.registry,
      this.keys.births,
      this.keys.birthCounter,
      m.subject,
      m.id,
      m.publishedAt,
      encodeHeaders(m),
      Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength),
      dedupe ? '1' : '0',
      this.#options.dedupeWindowMs,
      ...this.#trimArgs,
      this.keys.newSubjects,
    ];
  }

  /**
   * Whether `m` can go out as a plain `XADD NOMKSTREAM`: no dedupe asked, no trim
   * by age (its cut-off comes from the server's clock, in the script), and its
   * subject registered by this process's script within REGISTERED_FOR_MS. The
   * stream must exist for the `XADD` to store it (`NOMKSTREAM`): a stream deleted
   * from outside makes it answer nil, and the publish runs the script.
   */
  #plainAdd(m: OutgoingMessage, now: number): boolean {
    if ((m.dedupe && this.capabilities.dedupe) || this.#trimArgs[0] === 'MINID') return false;
    const at = this.#registered.get(m.subject);
    return at !== undefined && now - at < REGISTERED_FOR_MS;
  }

  #xaddArgs(m: OutgoingMessage): (string | Buffer)[] {
    const args: (string | Buffer)[] = [this.keys.stream(m.subject), 'NOMKSTREAM'];
    if (this.#trimArgs[0] !== '') args.push(...this.#trimArgs);
    args.push('*', 'i', m.id, 't', String(m.publishedAt));
    const headers = encodeHeaders(m);
    if (headers !== '') args.push('h', headers);
    args.push('p', Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength));
    return args;
  }

  /** Records that the publish script registered `subject` (a reply that is not a duplicate). */
  #noteRegistered(subject: string, now: number, reply: [number, string]): void {
    if (Number(reply[0]) === 1) return; // a duplicate returns before registering
    if (this.#registered.size >= 10_000 && !this.#registered.has(subject)) this.#registered.clear();
    this.#registered.set(subject, now);
  }

  async #publishScripted(message: OutgoingMessage, now: number): Promise<[number, string]> {
    const reply = await this.#bounded(this.#client.omnibusPublish(...this.#publishArgs(message)), 'publish');
    this.#noteRegistered(message.subject, now, reply);
    return reply;
  }

  #publishError(subject: string, error: unknown): PublishError {
    return new PublishError(`publish to "${subject}" failed: ${(error as Error)?.message ?? error}`, {
      backend: BACKEND,
      cause: safeCause(error),
    });
  }

  /** A command bounded by `publishTimeoutMs` (commands wait for the reconnect otherwise). */
  #bounded<T>(command: Promise<T>, what: string): Promise<T> {
    const ms = this.#options.publishTimeoutMs;
    return withTimeout(
      command,
      ms,
      `${what}: no answer within ${ms} ms (connection lost?); the outcome is unknown — publish with an id to make a retry safe`,
    );
  }

  async publish(message: OutgoingMessage): Promise<DriverReceipt> {
    if (message.atMostOnce) return this.#bounded(this.#pubSub.publish(message), 'publish');
    let reply: [number, string];
    const now = Date.now();
    try {
      if (this.#plainAdd(message, now)) {
        const id = await this.#bounded(
          this.#client.xadd(...(this.#xaddArgs(message) as [string])),
          'publish',
        );
        if (id !== null) return { duplicate: false, sequence: String(id) };
        this.#registered.delete(message.subject); // the stream is gone: the script creates and registers it
      }
      reply = await this.#publishScripted(message, now);
    } catch (error) {
      throw this.#publishError(message.subject, error);
    }
    return { duplicate: Number(reply[0]) === 1, sequence: String(reply[1]) };
  }

  /**
   * Pipelined in one round trip: Redis runs the commands one after the other, in
   * batch order, so the entries of one subject are stored in batch order. An
   * entry goes out as the publish script or, when it may (see `#plainAdd`; a
   * subject's first script in the batch registers it for the entries after it),
   * as a plain `XADD NOMKSTREAM`; those a deleted stream turned away (nil) are
   * sent again through the script, in order, in a second round trip. A command
   * that fails does not stop the ones after it: on a failure `accepted` holds
   * the replies before the first failed entry, and `maybeStored` every entry from
   * it on that was stored (a reply) or may have been (a failed script keeps an
   * entry it added). Without an answer in time, every entry's outcome from the
   * first unsure one on is unknown.
   */
  async publishBatch(messages: readonly OutgoingMessage[]): Promise<DriverReceipt[]> {
    const now = Date.now();
    const plain = this.#plainInBatch(messages, now);
    const pipeline = this.#client.pipeline();
    messages.forEach((m, i) => {
      if (plain[i]) pipeline.xadd(...(this.#xaddArgs(m) as [string]));
      else (pipeline as unknown as Scripted).omnibusPublish(...this.#publishArgs(m));
    });
    const unknown = (cause: unknown, from = 0, accepted: DriverReceipt[] = []) =>
      new PublishError(`publishBatch failed; the outcome of every entry from ${from} on is unknown`, {
        backend: BACKEND,
        cause: safeCause(cause),
        accepted,
        maybeStored: messages.map((_, i) => i).slice(from),
      });
    let results: [Error | null, unknown][] | null;
    try {
      results = await this.#bounded(pipeline.exec(), 'publishBatch');
    } catch (error) {
      throw unknown(error);
    }
    if (results?.length !== messages.length) throw unknown(new Error('no reply to the pipeline'));
    const receipts: (DriverReceipt | undefined)[] = results.map(([error, reply], i) => {
      if (error) return undefined;
      if (plain[i]) return reply === null ? undefined : { duplicate: false, sequence: String(reply) };
      const scripted = reply as [number, string];
      this.#noteRegistered((messages[i] as OutgoingMessage).subject, now, scripted);
      return { duplicate: Number(scripted[0]) === 1, sequence: String(scripted[1]) };
    });
    const turnedAway = results.flatMap(([error, reply], i) =>
      plain[i] && !error && reply === null ? [i] : [],
    );
    if (turnedAway.length > 0) {
      for (const i of turnedAway) this.#registered.delete((messages[i] as OutgoingMessage).subject);
      const again = this.#client.pipeline();
      for (const i of turnedAway) {
        (again as unknown as Scripted).omnibusPublish(...this.#publishArgs(messages[i] as OutgoingMessage));
      }
      // the entries before the first unsure one (failed, or turned away) are the accepted prefix
      const failedFirst = receipts.findIndex((r, i) => r === undefined && !turnedAway.includes(i));
      const from = Math.min(turnedAway[0] as number, failedFirst < 0 ? messages.length : failedFirst);
      let second: [Error | null, unknown][] | null;
      try {
        second = await this.#bounded(again.exec(), 'publishBatch');
      } catch (error) {
        throw unknown(error, from, receipts.slice(0, from) as DriverReceipt[]);
      }
      turnedAway.forEach((i, k) => {
        const [error, reply] = second?.[k] ?? [new Error('no reply'), null];
        if (results) results[i] = [error, reply];
        if (error) return;
        const scripted = reply as [number, string];
        receipts[i] = { duplicate: Number(scripted[0]) === 1, sequence: String(scripted[1]) };
      });
    }
    const first = receipts.indexOf(undefined);
    if (first < 0) return receipts as DriverReceipt[];
    throw new PublishError(`publishBatch: entry ${first} failed`, {
      backend: BACKEND,
      cause: this.#publishError(messages[first]?.subject ?? '', results[first]?.[0]),
      accepted: receipts.slice(0, first) as DriverReceipt[],
      maybeStored: messages.map((_, i) => i).slice(first),
    });
  }

  /**
   * Which entries of a batch go out as a plain `XADD` (see `#plainAdd`). All the entries of
   * one subject go the same way: when one of them needs the script (an id to dedupe, a subject
   * not registered lately), they all take it, so that a plain entry turned away by a deleted
   * stream can never be stored after a later scripted one of its subject.
   */
  #plainInBatch(messages: readonly OutgoingMessage[], now: number): boolean[] {
    const scripted = new Set<string>();
    for (const m of messages) if (!this.#plainAdd(m, now)) scripted.add(m.subject);
    return messages.map((m) => !scripted.has(m.subject));
  }

  async #watcherFor(): Promise<SubjectWatcher> {
    if (!this.#watcher) {
      const subscriber = blockingClient(this.#client, 'omnibus-watch');
      watchClient(subscriber, 'subject watcher', this.report);
      this.#watcher = new SubjectWatcher(
        this.#client,
        subscriber,
        this.keys,
        this.#options.discoveryIntervalMs,
        (error) => {
          const message = `subject registry check failed: ${(error as Error)?.message ?? error}`;
          this.#status('discovery_failed', message);
          log(
            this.#options.logger ?? console,
            'warn',
            `[omnibus:redis] ${message}; wildcard subscriptions may miss new subjects until it succeeds (retried every ${this.#options.discoveryIntervalMs} ms)`,
          );
        },
        () => this.#status('discovery_resumed'),
      );
    }
    await this.#watcher.start();
    return this.#watcher;
  }

  #position(from: DriverSubscribeRequest['from']): string {
    if (from === 'new') return '$';
    if (from === 'earliest') return '0';
    return `${Math.max(0, Math.floor(from.time))}-0`;
  }

  /**
   * Registers a named group's pattern (its first subscribe fixes the start; that
   * call also creates the group on `streams`, atomically with the registration)
   * and returns where the group starts on each of `streams` (see `startFor`).
   */
  async #groupStarts(
    group: string,
    pattern: string,
    from: DriverSubscribeRequest['from'],
    streams: readonly string[],
  ): Promise<string[]> {
    const flat = await this.#client.omnibusRegisterGroup(
      2 + streams.length,
      this.keys.group(group),
      this.keys.birthCounter,
      ...streams,
      pattern,
      this.#position(from),
      group,
    );
    const registrations = parseRegistrations(flat);
    const subjects = streams.map((stream) => this.keys.subjectOf(stream));
    const births = subjects.length > 0 ? await this.#client.hmget(this.keys.births, ...subjects) : [];
    return subjects.map((subject, i) => startFor(subject, births[i], registrations, '0'));
  }

  async subscribe(request: DriverSubscribeRequest): Promise<DriverSubscription> {
    if (request.atMostOnce) return this.#pubSub.subscribe(request);
    const grouped = request.group !== undefined;
    const group = request.group ?? `omnibus-${request.id}`;
    const consumer = `${hostname()}-${process.pid}-${request.id}`;
    const position = this.#position(request.from);
    const readConnectionName = `omnibus-read-${consumer}`;
    const blocking = blockingClient(this.#client, readConnectionName);
    watchClient(blocking, `subscription ${request.pattern}`, this.report);
    const loop = new ReadLoop(
      {
        client: this.#client,
        blocking,
        readConnectionName,
        keys: this.keys,
        group,
        consumer,
        grouped,
        sink: request.sink,
        blockMs: this.#options.blockMs,
        ackTimeoutMs: request.ackTimeoutMs,
        countTrimmed: (n) => {
          this.#trimmed += n;
        },
        wakeGroup: (dueAt) => {
          for (const l of this.#groups.get(group) ?? []) l.wake(dueAt);
        },
        // ungrouped: a subject first noticed after the subscription started is new to it
        startPositions: async (streams) =>
          grouped ? this.#groupStarts(group, request.pattern, request.from, streams) : streams.map(() => '0'),
        status: (type, detail) => this.#status(type, detail),
        connectionEpoch: () => this.#connectionEpoch,
      },
      [],
    );
    let unlisten: (() => void) | undefined;
    try {
      const streams: string[] = [];
      if (hasWildcard(request.pattern)) {
        const watcher = await this.#watcherFor();
        // listen before the snapshot: a subject announced in between is not missed
        unlisten = watcher.listen(
          (subject) => {
            if (subjectMatches(request.pattern, subject)) loop.addStream(this.keys.stream(subject));
          },
          (error) => request.sink.reportError(error),
        );
        for (const subject of await watcher.subjects()) {
          if (subjectMatches(request.pattern, subject)) streams.push(this.keys.stream(subject));
        }
      } else {
        streams.push(this.keys.stream(request.pattern));
      }
      // a named group exists from its first subscribe, recorded in Redis whether or not a member runs
      const starts = grouped
        ? await this.#groupStarts(group, request.pattern, request.from, streams)
        : streams.map(() => position);
      // all at once: one auto-pipelined round trip, not one per stream
      await Promise.all(
        streams.map((stream, i) =>
          createGroup(this.#client, this.keys, stream, group, starts[i] ?? position),
        ),
      );
      for (const stream of streams) loop.addStreamKnown(stream);
      await loop.start();
    } catch (error) {
      unlisten?.();
      blocking.disconnect();
      throw error;
    }
    this.#loops.add(loop);
    const members = this.#groups.get(group) ?? new Set<ReadLoop>();
    members.add(loop);
    this.#groups.set(group, members);
    return {
      stop: async () => {
        unlisten?.();
        await loop.stop();
        members.delete(loop);
        if (members.size === 0) this.#groups.delete(group);
        // clean up once core has settled (acked or released) everything this member held
        const cleanUp = loop
          .settled()
          .then(() => this.#cleanUp(loop, group, consumer, grouped))
          .catch((error) => request.sink.reportError(error))
          .finally(() => {
            loop.disconnect();
            this.#loops.delete(loop);
            this.#cleanUps.delete(cleanUp);
          });
        this.#cleanUps.add(cleanUp);
      },
    };
  }

  /** Ungrouped: the subscription's own group and due set go. Grouped: the consumer goes if it holds nothing. */
  async #cleanUp(loop: ReadLoop, group: string, consumer: string, grouped: boolean): Promise<void> {
    // all at once: one auto-pipelined round trip, not one per stream
    await Promise.all(
      [...loop.streams].map((stream) =>
        grouped
          ? this.#client.omnibusDropIdleConsumer(stream, group, consumer)
          : this.#client.xgroup('DESTROY', stream, group),
      ),
    );
    if (!grouped) await this.#client.del(this.keys.due(group));
  }

  /** Stops watching the main connection (set by `createRedisBus`). */
  stopWatching: () => void = () => undefined;

  /**
   * Waits for the members' clean-up and quits — bounded: with the server away
   * both would wait for the reconnect forever, so after `CLOSE_WAIT_MS` an owned
   * connection is dropped without them. What is then left behind (as after a
   * crash) is inert: consumers listed in a named group, and an ungrouped
   * subscription's consumer group and due set, which nothing reads and nothing
   * removes (see the README's "Leftovers").
   */
  async close(): Promise<void> {
    this.stopWatching();
    for (const event of CONNECTION_CLOSED_EVENTS) this.#client.off(event, this.#onConnectionClosed);
    await settledWithin(Promise.all([...this.#cleanUps]), CLOSE_WAIT_MS);
    for (const loop of this.#loops) loop.disconnect();
    await this.#pubSub.close();
    this.#watcher?.stop();
    if (this.#owned && !(await settledWithin(this.#client.quit(), CLOSE_WAIT_MS))) this.#client.disconnect();
  }
}
