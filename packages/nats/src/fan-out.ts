import type { ConsumerInfo, JetStreamManager, StreamInfo } from '@nats-io/jetstream';
import type { DriverSubscribeRequest, DriverSubscription } from '@omnibus/core';
import { CapacityPool } from './capacity-pool.js';
import type { Registration } from './group-registry.js';
import { isStreamNotFound } from './nats-errors.js';
import { ackWaitMs, type PullLoop } from './pull-loop.js';
import type { StreamListener, StreamWatcher } from './stream-watcher.js';
import { filtersFor, hash, type StreamRegistry } from './streams.js';

/** Where a consumer created by a fan-out starts, when not at the subscription's `from`. */
export type StartAt = { readonly all: true } | { readonly time: string };

/** What a fan-out needs from the driver. */
export interface FanOutContext {
  readonly jsm: JetStreamManager;
  readonly registry: StreamRegistry;
  readonly watcher: StreamWatcher;
  readonly request: DriverSubscribeRequest;
  /**
   * A group's registration (written now at its first subscribe): undefined for an
   * ungrouped subscription, or when the registry is unavailable (reported).
   */
  register(): Promise<Registration | undefined>;
  /**
   * Creates the consumer `name` on `stream` with `filter` (starting at `start`, or the
   * subscription's `from` when undefined; after `resumeAfterSeq` when > 0), or, for a
   * group, verifies the existing durable. Resolves with its info.
   */
  createConsumer(
    stream: string,
    name: string,
    filter: string,
    start: StartAt | undefined,
    resumeAfterSeq?: number,
  ): Promise<ConsumerInfo>;
  /** A pull loop feeding the subscription from one consumer (whose `ack_wait` is `ackWaitMs`), sharing `pool`. */
  loop(
    stream: string,
    name: string,
    pool: CapacityPool,
    recreate: (lastSeq: number) => Promise<ConsumerInfo | undefined>,
    ackWaitMs: number,
  ): PullLoop;
  status(type: string, detail?: string): void;
  /** Writes queued acks (before ephemeral consumers are deleted). */
  flushAcks(): void;
}

/** One consumer of the fan-out: a stream and the filter narrowing the pattern to it. */
interface Source {
  readonly key: string;
  readonly stream: string;
  readonly filter: string;
  readonly name: string;
  /** When the stream was created (RFC 3339). */
  readonly created: string;
  start: StartAt | undefined;
  /** The consumer's actual ack wait (ms). */
  ackWaitMs: number;
  loop?: PullLoop;
}

/** How many consumers are created at once when a subscription starts. */
const CREATE_CONCURRENCY = 16;

async function eachLimited<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const later = (a: string, b: string) => (Date.parse(a) >= Date.parse(b) ? a : b);
const earliest = (a: string | undefined, b: string | undefined) =>
  a === undefined ? b : b === undefined ? a : Date.parse(a) <= Date.parse(b) ? a : b;

/**
 * Where a group that exists since `since` starts on a stream it has no durable on:
 * at `since` (or the subscription's `from` time, if later).
 */
export function groupStart(request: DriverSubscribeRequest, since: string): StartAt {
  const { from } = request;
  return { time: typeof from === 'object' ? later(new Date(from.time).toISOString(), since) : since };
}

/**
 * A subscription whose pattern starts with a wildcard (`*.created`, `>`, `*.eu.>`)
 * and so spans the automatic streams (one per first token), which JetStream cannot
 * serve with one consumer. As Redis and Kafka do, the adapter emulates it: a
 * consumer on every stream it manages that can hold a matching subject (filter: the
 * pattern narrowed to the stream, e.g. `orders.created`), and streams created later,
 * by any process, are discovered (`StreamWatcher`) and get one too.
 *
 * - A stream that did not exist when the subscription listed the streams is read
 *   from its first message: every message in it was published after the listing
 *   began, so a message published to a brand-new first token right after
 *   `subscribe` resolved is delivered, however late its stream is discovered.
 * - A group has a durable consumer with the group's name on each stream, shared by
 *   all members (each message to one member). The group exists from its first
 *   subscribe, recorded in the group registry (`GroupRegistry`) even when no stream
 *   could hold a matching subject yet; a stream without its durable is read from then
 *   (or from its first message, when the stream is younger), so subjects first used
 *   while no member ran still reach it. Groups from before the registry count from
 *   their oldest durable.
 * - All consumers share the subscription's `maxInFlight` (`CapacityPool`).
 */
export class FanOut implements DriverSubscription {
  readonly #ctx: FanOutContext;
  readonly #pool: CapacityPool;
  readonly #sources = new Map<string, Source>();
  readonly #attaching = new Set<Promise<void>>();
  /** Sources whose consumer is being created. */
  readonly #claimed = new Set<string>();
  /** Creation time of the oldest durable this subscription created (a new group). */
  #createdFirst: string | undefined;
  /** Streams that existed when the subscription listed them; undefined until then. */
  #initial: Set<string> | undefined;
  /** What the watcher reported before the initial listing was handled. */
  #early: StreamInfo[] | undefined = [];
  /** When the group came to exist: its registration, or (groups from before the registry) its oldest durable. */
  #groupSince: string | undefined;
  #stopped = false;
  readonly #listener: StreamListener = {
    seen: (info) => {
      if (this.#early) this.#early.push(info);
      else this.#track(this.#attach(info));
    },
    listed: (names) => {
      if (this.#initial) this.#track(this.#dropMissing(names));
    },
    error: (error) => this.#report('stream_discovery_failed', error),
  };

  private constructor(ctx: FanOutContext) {
    this.#ctx = ctx;
    this.#pool = new CapacityPool(ctx.request.sink, ctx.request.maxInFlight);
  }

  /** Subscribes: resolves once a consumer runs on every matching stream and discovery is live. */
  static async start(ctx: FanOutContext): Promise<FanOut> {
    const fanOut = new FanOut(ctx);
    try {
      await fanOut.#start();
    } catch (error) {
      await fanOut.stop();
      throw error;
    }
    return fanOut;
  }

  /** The streams read now (for tests and tooling). */
  get streams(): string[] {
    return [...new Set([...this.#sources.values()].map((s) => s.stream))];
  }

  async #start(): Promise<void> {
    const grouped = this.#ctx.request.group !== undefined;
    // recorded before the listing: a stream missing from it was created after the group existed
    const registration = grouped ? await this.#ctx.register() : undefined;
    // the watcher's advisory subscription is in place before this listing: a stream
    // missing from it is announced afterwards
    const listing = await this.#ctx.watcher.watch(this.#listener);
    this.#initial = new Set(listing.map((i) => i.config.name));
    const sources = listing.flatMap((info) => this.#sourcesOf(info));
    if (grouped) {
      await this.#findGroup(sources);
      // the group existed before this subscribe: everything since its first one is its
      if (registration && !registration.fresh)
        this.#groupSince = earliest(this.#groupSince, registration.since);
    }
    await eachLimited(sources, CREATE_CONCURRENCY, (source) => this.#open(source, false));
    // a new group exists from now on (what streams without its durable start from)
    if (grouped) this.#groupSince ??= earliest(registration?.since, this.#createdFirst);
    for (const source of this.#sources.values()) this.#run(source);
    const early = this.#early ?? [];
    this.#early = undefined;
    for (const info of early) this.#track(this.#attach(info));
  }

  /** The oldest durable of this group on any matching stream: when the group came to exist. */
  async #findGroup(sources: readonly Source[]): Promise<void> {
    await eachLimited(sources, CREATE_CONCURRENCY, async (s) => {
      const info = await this.#ctx.jsm.consumers.info(s.stream, s.name).catch(() => undefined);
      if (!info) return;
      if (this.#groupSince === undefined || Date.parse(info.created) < Date.parse(this.#groupSince))
        this.#groupSince = info.created;
    });
  }

  #sourcesOf(info: StreamInfo): Source[] {
    const stream = info.config.name;
    if (!this.#ctx.registry.manages(stream)) return [];
    const filters = filtersFor(this.#ctx.request.pattern, info.config.subjects ?? []);
    const base = this.#ctx.request.group ?? `omnibus_${this.#ctx.request.id}`;
    return filters.map((filter) => ({
      key: `${stream}\u0000${filter}`,
      stream,
      filter,
      created: info.created,
      // a group's durable keeps the group's name; a second filter on the same stream needs its own
      name: filters.length === 1 ? base : `${base}_${hash(filter)}`,
      start: undefined,
      ackWaitMs: 0,
    }));
  }

  /** Where a consumer that does not exist yet on `source`'s stream starts. */
  #startFor(source: Source, isNew: boolean): StartAt | undefined {
    const { from, group } = this.#ctx.request;
    const fromTime = typeof from === 'object' ? new Date(from.time).toISOString() : undefined;
    if (group !== undefined && this.#groupSince !== undefined) {
      // a stream created after the group holds only the group's messages
      if (!fromTime && Date.parse(source.created) > Date.parse(this.#groupSince)) return { all: true };
      // the group already existed: everything stored since then is its
      return groupStart(this.#ctx.request, this.#groupSince);
    }
    if (!isNew) return undefined; // the subscription's own `from`
    // a stream that did not exist at the listing holds only messages published since
    return fromTime ? { time: fromTime } : { all: true };
  }

  /** Creates the source's consumer and registers it (not yet pulling). */
  async #open(source: Source, isNew: boolean): Promise<void> {
    if (this.#sources.has(source.key)) return;
    source.start = this.#startFor(source, isNew);
    try {
      const info = await this.#ctx.createConsumer(source.stream, source.name, source.filter, source.start);
      source.ackWaitMs = ackWaitMs(info);
      if (this.#createdFirst === undefined || Date.parse(info.created) < Date.parse(this.#createdFirst))
        this.#createdFirst = info.created;
    } catch (error) {
      if (isStreamNotFound(error)) return; // deleted meanwhile
      throw error;
    }
    this.#sources.set(source.key, source);
  }

  /** Starts pulling from a registered source. */
  #run(source: Source): void {
    const loop = this.#ctx.loop(
      source.stream,
      source.name,
      this.#pool,
      (lastSeq) => this.#recreate(source, lastSeq),
      source.ackWaitMs,
    );
    source.loop = loop;
    loop.start();
  }

  /** A stream seen after the start: attach to it when it can hold matching subjects. */
  async #attach(info: StreamInfo): Promise<void> {
    if (this.#stopped) return;
    const isNew = !this.#initial?.has(info.config.name);
    for (const source of this.#sourcesOf(info)) {
      if (this.#sources.has(source.key) || this.#claimed.has(source.key) || this.#stopped) continue;
      this.#claimed.add(source.key); // a concurrent announcement of the same stream skips it
      try {
        await this.#open(source, isNew);
      } catch (error) {
        this.#report('stream_attach_failed', error);
        continue;
      } finally {
        this.#claimed.delete(source.key);
      }
      if (!this.#sources.has(source.key)) continue;
      if (this.#stopped) {
        await this.#removeConsumer(source);
        continue;
      }
      this.#run(source);
      this.#ctx.status('stream_attached', `${source.stream} (${source.filter})`);
    }
  }

  /** The consumer vanished (deleted from outside, or with its stream). */
  async #recreate(source: Source, lastSeq: number): Promise<ConsumerInfo | undefined> {
    try {
      await this.#ctx.jsm.streams.info(source.stream);
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
      this.#detach(source);
      return undefined;
    }
    const info = await this.#ctx.createConsumer(
      source.stream,
      source.name,
      source.filter,
      source.start,
      lastSeq,
    );
    source.ackWaitMs = ackWaitMs(info);
    this.#ctx.status('consumer_recreated', source.name);
    return info;
  }

  /** A listing without some of our streams: stop reading those that are really gone. */
  async #dropMissing(names: ReadonlySet<string>): Promise<void> {
    for (const source of [...this.#sources.values()]) {
      if (names.has(source.stream) || this.#stopped) continue;
      const gone = await this.#ctx.jsm.streams.info(source.stream).then(
        () => false,
        (error) => isStreamNotFound(error),
      );
      if (gone) this.#detach(source);
    }
  }

  /** Stops reading a deleted stream; if it is created again, it counts as new. */
  #detach(source: Source): void {
    if (this.#sources.get(source.key) !== source) return;
    this.#sources.delete(source.key);
    this.#initial?.delete(source.stream);
    void source.loop?.stop();
    this.#ctx.status('stream_detached', source.stream);
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch((error) => this.#report('stream_attach_failed', error));
    this.#attaching.add(tracked);
    void tracked.finally(() => this.#attaching.delete(tracked));
  }

  #report(type: string, error: unknown): void {
    if (this.#stopped) return;
    this.#ctx.request.sink.reportError(error);
    this.#ctx.status(type, (error as Error)?.message ?? String(error));
  }

  async #removeConsumer(source: Source): Promise<void> {
    if (this.#ctx.request.group === undefined)
      await this.#ctx.jsm.consumers.delete(source.stream, source.name).catch(() => false);
  }

  /** Stops discovery and every consumer's loop; ephemeral consumers are deleted. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#ctx.watcher.unwatch(this.#listener);
    while (this.#attaching.size > 0) await Promise.allSettled([...this.#attaching]);
    const sources = [...this.#sources.values()];
    await Promise.all(sources.map((s) => s.loop?.stop()));
    this.#ctx.flushAcks();
    await Promise.all(sources.map((s) => this.#removeConsumer(s)));
  }
}
