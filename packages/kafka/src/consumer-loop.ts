import {
  atMostOnceDelivery,
  type DeliverySink,
  type DriverStartPosition,
  hasWildcard,
  type InboundDelivery,
  type SettleInfo,
  subjectMatches,
  withTimeout,
} from '@omnibus/core';
import { retrying } from './admin-retry.js';
import {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  ErrorCodes,
  errorCode,
  type Kafka,
  type KafkaMessage,
  type KafkaRecord,
  type TopicPartitionOffset,
} from './client.js';
import { committedOffsets } from './committed-offsets.js';
import { forgetMetadata, LockStorages, severableAsync } from './disconnected-client.js';
import { decodeRecord, retryRecord } from './envelope.js';
import type { ResolvedKafkaOptions } from './options.js';
import { Drains, keyOf, splitKey } from './partition-drains.js';
import { PartitionOffsets } from './partition-offsets.js';
import { type StartPlan, startPlan } from './start-plan.js';
import { holdPoolSeat } from './thread-pool.js';
import { RETRY_SUFFIX, type TopicRegistry } from './topics.js';

/** What one subscription's consumer needs from the driver. */
export interface ConsumerLoopContext {
  readonly kafka: Kafka;
  readonly admin: Admin;
  /** Stores a retry-topic copy (a few tries); rejects when it could not. */
  sendRetryCopy(topic: string, record: KafkaRecord): Promise<void>;
  readonly topics: TopicRegistry;
  readonly options: ResolvedKafkaOptions;
  readonly groupId: string;
  /** False for an ungrouped subscription: its group is deleted on close. */
  readonly grouped: boolean;
  /**
   * At most once: no retry topics, no acks; each fetched batch's offsets are committed before
   * its messages are handed out, and what the sink cannot keep it drops (core counts it).
   */
  readonly atMostOnce: boolean;
  readonly pattern: string;
  readonly from: DriverStartPosition;
  /** The subscription's ack timeout: bounds how long a revoke waits for what this member holds. */
  readonly ackTimeoutMs: number;
  readonly sink: DeliverySink;
  status(type: string, detail?: string): void;
  /** At most once: messages a leaving member skips (counted in `stats().dropped`). */
  dropped(count: number): void;
  /** Records arrived: the connection works (reports recovery after a loss). */
  alive(): void;
  /** A warning for the bus's logger. */
  warn(message: string): void;
}

/** How long acks gather before their offsets are committed together. */
const COMMIT_EVERY_MS = 50;
/**
 * How long a batch waits inside `eachBatch` for room in the subscription before its partition is
 * paused until there is room (a fetch loop blocked for long would hold up rebalances).
 */
const CAPACITY_WAIT_MS = 500;
/** Slack over the ack timeout for what a revoked partition's deliveries need to settle (ms). */
const DRAIN_SLACK_MS = 2_000;
/**
 * How often the consumer refreshes its topic metadata (ms). A topic created a moment ago may be
 * missing from the metadata the member joined with: the member is then assigned none of its
 * partitions until the next refresh (librdkafka's default: 5 minutes).
 */
const METADATA_REFRESH_MS = 2_000;
/** How long reading the group's commits for the start plan may take (ms). */
const COMMITTED_TIMEOUT_MS = 10_000;
/** Longest a revoke waits for the deliveries of its partitions to settle (ms). */
const DRAIN_MAX_MS = 20_000;

const retryTopicOf = (topic: string) => (topic.endsWith(RETRY_SUFFIX) ? topic : `${topic}${RETRY_SUFFIX}`);

/** A rebalance as librdkafka reports it to the callback. */
interface RebalanceEvent {
  code: number;
}

/**
 * One subscription's Kafka consumer (its own consumer group, or the named group's). Commits only
 * after ack, up to the lowest offset not yet done in each partition. A nak, a handler failure or
 * an ack timeout sends a copy to the subject topic's retry topic (attempt + 1, due time, group)
 * and marks the original done, so the partition never waits for a delay; the retry topic's
 * partition pauses only while its head is not yet due.
 *
 * Rebalances go through librdkafka's `rebalance_cb`, which the client awaits before it gives
 * partitions up: on revoke this member waits (bounded by the ack timeout) until every delivery of
 * the revoked partitions is settled, commits, and forgets them — so the partition's next owner
 * starts after everything acked here and hands out nothing this member handed out. On the first
 * assignment the start plan (`from`) moves partitions without a committed offset to their start,
 * and commits it, before anything is fetched.
 */
export class ConsumerLoop {
  readonly #ctx: ConsumerLoopContext;
  readonly #consumer: Consumer;
  readonly #topics = new Set<string>();
  readonly #partitions = new Map<string, PartitionOffsets>();
  /** Deliveries handed to the sink and not yet released, per partition. */
  readonly #drains = new Drains();
  /** Retry partitions paused until their head is due → the timer that resumes them. */
  readonly #dueTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Partitions paused until the subscription has room → their resume. */
  readonly #waitingForRoom = new Map<string, () => void>();
  /**
   * Partitions being taken away (from the revoke's start until they are assigned again): nothing
   * more of them is handed out here, whatever a fetch that was under way still holds.
   */
  readonly #revoking = new Set<string>();
  /** Partitions this member paused at some point (resumed when assigned again). */
  readonly #pausedOnce = new Set<string>();
  readonly #discovers: boolean;
  #stopped = false;
  #running = false;
  readonly #capacityWaiters = new Set<() => void>();
  /** Messages whose retry copy could not be stored, waiting for their delay → partition and release. */
  readonly #comingBack = new Map<ReturnType<typeof setTimeout>, { key: string; release: () => void }>();
  #batch: Promise<void> = Promise.resolve();
  #commitQueued = false;
  #committing: Promise<void> = Promise.resolve();
  #discoveryTimer: ReturnType<typeof setInterval> | undefined;
  #unlisten: (() => void) | undefined;
  #subscribing: Promise<void> = Promise.resolve();
  /** At most once: the next offset of each partition this member committed (see `#skipUnread`). */
  readonly #amoNext = new Map<string, number>();
  /** At most once: the skip of a leaving member under way (see `#skipUnread`). */
  #skipping: Promise<void> = Promise.resolve();
  /** Set once `finish()` disconnects the client. */
  #disconnecting = false;
  /** The start plan, applied on the first assignment. */
  #plan: StartPlan | undefined;
  #onJoin: (() => void) | undefined;
  /** Gives back this consumer's count in libuv's thread pool (see thread-pool.ts). */
  readonly #leavePool: () => void;
  /** The callbacks the client holds (rebalance, batches), cut off after its disconnect (disconnected-client.ts). */
  readonly #links: { sever(): void }[] = [];
  /** The client's lock storage, turned off after its disconnect (disconnected-client.ts). */
  readonly #lockStorages = new LockStorages();

  constructor(ctx: ConsumerLoopContext) {
    this.#ctx = ctx;
    this.#leavePool = holdPoolSeat((message) => ctx.warn(`[omnibus:kafka] ${message}`));
    const first = ctx.pattern.split('.', 1)[0] as string;
    this.#discovers = !ctx.topics.perFirstToken ? hasWildcard(ctx.pattern) : first === '*' || first === '>';
    this.#consumer = ctx.kafka.consumer({
      kafkaJS: {
        groupId: ctx.groupId,
        sessionTimeout: ctx.options.sessionTimeoutMs,
        heartbeatInterval: Math.min(1_000, Math.floor(ctx.options.sessionTimeoutMs / 3)),
        maxWaitTimeInMs: ctx.options.maxWaitTimeMs,
        allowAutoTopicCreation: false,
        autoCommit: false,
        // partitions without a committed offset that the start plan does not cover: topics found
        // later, whose records are all newer than the subscription
        fromBeginning: true,
        // a subscribed topic the client's metadata does not hold yet is looked for this often
        metadataMaxAge: METADATA_REFRESH_MS,
      },
      rebalance_cb: this.#link((event: RebalanceEvent, assignment: TopicPartitionOffset[]) =>
        this.#rebalance(event, assignment),
      ),
    });
    ctx.sink.onCapacity(() => this.#onCapacity());
  }

  /** Subscribes; resolves once every message published after it will be delivered. */
  async start(): Promise<void> {
    const { topics, pattern } = this.#ctx;
    const initial = this.#discovers ? await topics.list() : [topics.topicFor(pattern)];
    for (const t of initial) await topics.ensure(t);
    if (this.#discovers) {
      this.#unlisten = topics.onTopic((t) => void this.#addTopics([t]));
      this.#discoveryTimer = setInterval(
        () =>
          void topics.list().then(
            (all) => this.#addTopics(all),
            (e) => this.#ctx.sink.reportError(e),
          ),
        this.#ctx.options.topicDiscoveryMs,
      );
      this.#discoveryTimer.unref?.();
    }
    await this.#consumer.connect();
    // the group's commits as the consumer reads them (no admin coordinator request)
    this.#plan = await startPlan(
      this.#ctx,
      initial.flatMap((t) => this.#readsOf(t)),
      // a coordinator still loading or moving (a broker just started) answers "not coordinator"
      (partitions) => retrying(() => committedOffsets(this.#consumer, partitions, COMMITTED_TIMEOUT_MS)),
    );
    for (const t of initial) this.#topics.add(t);
    if (this.#topics.size === 0) return; // nothing to read until a topic appears
    const joined = new Promise<void>((resolve) => {
      this.#onJoin = resolve;
    });
    await this.#subscribe();
    const limit = this.#ctx.options.connectTimeoutMs * 3;
    await withTimeout(joined, limit, `joining the group took longer than ${limit} ms`);
  }

  /** Subscribes to every topic read (replacing the last subscription), and starts fetching once. */
  async #subscribe(): Promise<void> {
    const topics = [...this.#topics].flatMap((t) => this.#readsOf(t));
    await this.#consumer.subscribe({ topics, replace: true });
    if (this.#running) return;
    this.#running = true;
    await this.#lockStorages.capture(() =>
      this.#consumer.run({
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: this.#link(async (payload: EachBatchPayload) => {
          const batch = this.#ctx.atMostOnce ? this.#eachBatchAtMostOnce(payload) : this.#eachBatch(payload);
          this.#batch = batch.catch(() => undefined);
          return batch;
        }),
      }),
    );
  }

  /**
   * librdkafka's rebalance callback (awaited by the client before the assignment changes). On
   * assign: the start plan, the first time; partitions this member paused before are resumed
   * (a new assignment starts unpaused here). On revoke: drain, commit, forget.
   */
  async #rebalance(event: RebalanceEvent, assignment: TopicPartitionOffset[]) {
    if (event.code === ErrorCodes.ERR__ASSIGN_PARTITIONS) {
      for (const tp of assignment) this.#revoking.delete(keyOf(tp.topic, tp.partition));
      const chosen = await this.#applyPlan(assignment).catch((error) => {
        this.#ctx.sink.reportError(error);
        return undefined;
      });
      const again = assignment.filter((tp) => this.#pausedOnce.delete(keyOf(tp.topic, tp.partition)));
      if (again.length > 0 && !this.#stopped) this.#resume(again);
      this.#ctx.status('group_joined', this.#ctx.groupId);
      const onJoin = this.#onJoin;
      this.#onJoin = undefined;
      onJoin?.();
      return chosen;
    }
    if (event.code !== ErrorCodes.ERR__REVOKE_PARTITIONS) return undefined;
    const keys = assignment.map((tp) => keyOf(tp.topic, tp.partition));
    for (const key of keys) {
      this.#revoking.add(key);
      this.#forgetPauses(key);
    }
    for (const [timer, back] of this.#comingBack) {
      if (!keys.includes(back.key)) continue;
      clearTimeout(timer);
      this.#comingBack.delete(timer);
      back.release(); // left uncommitted: the partition's next reader starts there
    }
    const limit = Math.min(DRAIN_MAX_MS, this.#ctx.ackTimeoutMs + DRAIN_SLACK_MS);
    await this.#drains.settled(keys, limit);
    await this.#committing;
    await this.#commit(keys);
    // a stopped at-most-once member losing partitions before it left: counted and skipped now,
    // while they are still its own (the next member starts past them)
    // (not the revoke of the disconnect itself: the leave counted them, and the client commits no more)
    if (this.#stopped && !this.#disconnecting && this.#ctx.atMostOnce && this.#ctx.grouped)
      await this.#skipUnread(keys).catch((e) => this.#ctx.sink.reportError(e));
    for (const key of keys) {
      this.#partitions.delete(key);
      // another member reads it from here on: where this one stood means nothing if it comes back
      this.#amoNext.delete(key);
    }
    return undefined;
  }

  /**
   * The start plan, on the first assignment: every partition it covers (assigned to this member
   * or not) starts at its planned offset, committed now, in this generation — a member that is
   * assigned one later (or this one, when the first assignment held none of a topic whose
   * metadata had not reached the client yet) starts there. The assigned ones start there at once.
   * Undefined: the assignment as it is.
   */
  async #applyPlan(assignment: TopicPartitionOffset[]): Promise<TopicPartitionOffset[] | undefined> {
    const plan = this.#plan;
    this.#plan = undefined;
    if (!plan) return undefined;
    const moved = plan.fromScratch ? await plan.movedSince(this.#ctx) : new Set<string>();
    const seeks: { topic: string; partition: number; offset: string }[] = [];
    for (const [topic, partitions] of plan.offsets)
      for (const [partition, offset] of partitions)
        if (!moved.has(keyOf(topic, partition))) seeks.push({ topic, partition, offset });
    if (seeks.length === 0) return undefined;
    try {
      await retrying(() => this.#consumer.commitOffsets(seeks));
    } catch (error) {
      // this member still starts its partitions there; a member assigned one later, without a
      // commit to start from, starts at the topic's beginning (nothing skipped)
      this.#ctx.sink.reportError(error);
      this.#ctx.status('commit_failed', `start plan: ${(error as Error)?.message ?? error}`);
    }
    const at = new Map(seeks.map((s) => [keyOf(s.topic, s.partition), Number(s.offset)]));
    return assignment.map((tp) => {
      const offset = at.get(keyOf(tp.topic, tp.partition));
      return offset === undefined ? { topic: tp.topic, partition: tp.partition } : { ...tp, offset };
    });
  }

  async #addTopics(candidates: string[]): Promise<void> {
    if (this.#stopped) return;
    const fresh = candidates.filter(
      (t) => !this.#topics.has(t) && this.#ctx.topics.isSubjectTopic(t) && this.#mayHold(t),
    );
    if (fresh.length === 0) return;
    for (const t of fresh) this.#topics.add(t);
    // after the last subscribe, failed or not: one failure never stops the topics found later
    this.#subscribing = this.#subscribing
      .catch(() => undefined)
      .then(async () => {
        if (this.#stopped) return;
        this.#ctx.status('topics_added', fresh.join(','));
        try {
          await this.#subscribe();
        } catch (error) {
          for (const t of fresh) this.#topics.delete(t); // found again by the next discovery
          throw error;
        }
      });
    await this.#subscribing.catch((e) => this.#ctx.sink.reportError(e));
  }

  /** The topics read for a subject topic: it and its retry topic (at most once: it alone). */
  #readsOf(topic: string): string[] {
    return this.#ctx.atMostOnce ? [topic] : [topic, retryTopicOf(topic)];
  }

  /** Could a subject matching the pattern live on `topic`? */
  #mayHold(topic: string): boolean {
    return this.#ctx.topics.mayHold(topic, this.#ctx.pattern.split('.', 1)[0] as string);
  }

  /** Room in the subscription: wake a batch waiting for it, resume partitions paused for it. */
  #onCapacity(): void {
    const waiters = [...this.#capacityWaiters];
    this.#capacityWaiters.clear();
    for (const w of waiters) w();
    if (this.#stopped || this.#ctx.sink.capacity === 0 || this.#waitingForRoom.size === 0) return;
    const resumes = [...this.#waitingForRoom.values()];
    this.#waitingForRoom.clear();
    for (const resume of resumes) this.#safely(resume);
  }

  async #waitForCapacity(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#capacityWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#capacityWaiters.add(wake);
      if (this.#ctx.sink.capacity > 0 || this.#stopped) wake();
    });
  }

  #resume(partitions: TopicPartitionOffset[]): void {
    const byTopic = new Map<string, number[]>();
    for (const { topic, partition } of partitions)
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    this.#safely(() => this.#consumer.resume([...byTopic].map(([topic, ps]) => ({ topic, partitions: ps }))));
  }

  /** Pause, resume: a consumer disconnecting meanwhile refuses them, and that is fine. */
  #safely(call: () => void): void {
    try {
      call();
    } catch {
      // the consumer is leaving: nothing left to pause or resume
    }
  }

  /** Drops the pauses of a partition this member is losing (the next owner starts unpaused). */
  #forgetPauses(key: string): void {
    const timer = this.#dueTimers.get(key);
    if (timer) clearTimeout(timer);
    this.#dueTimers.delete(key);
    this.#waitingForRoom.delete(key);
  }

  /**
   * Pauses the batch's partition (the client seeks back to the first record not resolved, which
   * is fetched again on resume), until `resumeAt` when given, else until there is room.
   */
  #pause(key: string, pause: EachBatchPayload['pause'], resumeAfterMs?: number): void {
    const resume = pause() as unknown as (() => void) | undefined;
    this.#pausedOnce.add(key);
    const again = () => {
      this.#pausedOnce.delete(key);
      if (!this.#stopped) this.#safely(() => resume?.());
    };
    if (resumeAfterMs === undefined) {
      this.#waitingForRoom.set(key, again);
      if (this.#ctx.sink.capacity > 0) this.#onCapacity(); // room came meanwhile
      return;
    }
    const timer = setTimeout(() => {
      this.#dueTimers.delete(key);
      again();
    }, resumeAfterMs);
    this.#dueTimers.set(key, timer);
  }

  async #eachBatch({ batch, resolveOffset, isStale, pause }: EachBatchPayload) {
    this.#ctx.alive();
    const { topic, partition } = batch;
    const key = keyOf(topic, partition);
    let offsets = this.#partitions.get(key);
    if (!offsets) {
      offsets = new PartitionOffsets();
      this.#partitions.set(key, offsets);
    }
    const retry = topic.endsWith(RETRY_SUFFIX);
    // a batch fetched before a revoke may still run while (and after) the partition is taken away
    const gone = () => isStale() || !this.#stillReads(key, offsets);
    for (const m of batch.messages) {
      if (gone()) break;
      const offset = Number(m.offset);
      if (offsets.seen(offset)) {
        resolveOffset(m.offset); // fetched again after a pause: already ours
        continue;
      }
      const record = decodeRecord(m, `${topic}:${partition}:${offset}`);
      if (
        !subjectMatches(this.#ctx.pattern, record.subject) ||
        (retry && record.group !== this.#ctx.groupId)
      ) {
        offsets.take(offset);
        offsets.done(offset); // not for this subscription
        resolveOffset(m.offset);
        this.#queueCommit();
        continue;
      }
      const wait = retry ? record.due - Date.now() : 0;
      if (wait > 0) {
        this.#pause(key, pause, wait); // the head of this retry partition is not due: only it waits
        break;
      }
      if (this.#ctx.sink.capacity === 0) {
        await this.#waitForCapacity(CAPACITY_WAIT_MS);
        if (gone()) break;
        if (this.#ctx.sink.capacity === 0) {
          this.#pause(key, pause);
          break;
        }
      }
      offsets.take(offset);
      this.#deliver(key, topic, offset, m, record, offsets);
      resolveOffset(m.offset);
    }
  }

  /**
   * At most once: the batch's offsets are committed first, then its matching messages are pushed
   * (attempt 1, nothing to settle). A message is never handed out twice, whoever reads the
   * partition next; when the commit fails (a rebalance), nothing of the batch is handed out here
   * and the partition's next reader reads it again.
   */
  async #eachBatchAtMostOnce({ batch, resolveOffset }: EachBatchPayload) {
    this.#ctx.alive();
    const { topic, partition } = batch;
    const deliveries: InboundDelivery[] = [];
    let last: string | undefined;
    for (const m of batch.messages) {
      if (this.#stopped) break;
      last = m.offset;
      const record = decodeRecord(m, `${topic}:${partition}:${m.offset}`);
      if (subjectMatches(this.#ctx.pattern, record.subject)) deliveries.push(atMostOnceDelivery(record));
    }
    if (last === undefined) return;
    try {
      await this.#consumer.commitOffsets([{ topic, partition, offset: String(Number(last) + 1) }]);
    } catch (error) {
      this.#ctx.sink.reportError(error);
      this.#ctx.status('commit_failed', (error as Error)?.message);
      return;
    }
    this.#amoNext.set(keyOf(topic, partition), Number(last) + 1);
    resolveOffset(last);
    for (const delivery of deliveries) this.#ctx.sink.push(delivery);
  }

  #deliver(
    key: string,
    topic: string,
    offset: number,
    m: KafkaMessage,
    record: ReturnType<typeof decodeRecord>,
    offsets: PartitionOffsets,
  ): void {
    const { groupId, grouped } = this.#ctx;
    const released = this.#drains.hold(key);
    let finished = false;
    /** Claims the one settlement of this delivery; false when it was already settled. */
    const finish = (): boolean => {
      if (finished) return false;
      finished = true;
      return true;
    };
    const done = () => {
      offsets.done(offset);
      this.#queueCommit();
      released();
    };
    const toRetry = (attempt: number, delayMs: number) =>
      this.#ctx.sendRetryCopy(
        retryTopicOf(topic),
        retryRecord(m, attempt, Date.now() + Math.max(0, Math.ceil(delayMs)), groupId),
      );
    /** The retry copy could not be stored: the message comes back from here instead. */
    const comeBack = (error: unknown, delayMs: number) => {
      this.#ctx.sink.reportError(error);
      this.#ctx.status(
        'retry_copy_failed',
        `${record.subject} (${topic}:${offset}): ${(error as Error)?.message ?? error}; redelivered by this member`,
      );
      this.#comeBack(key, topic, offset, m, record, offsets, delayMs, released);
    };
    const delivery: InboundDelivery = {
      id: record.id,
      subject: record.subject,
      payload: record.payload,
      headers: record.headers,
      publishedAt: record.publishedAt,
      attempt: record.attempt,
      // the ack timeout runs in core, from hand-out: an expired delivery comes back as a nak
      ack: async () => {
        if (finish()) done();
      },
      nak: async (delayMs: number, info: SettleInfo) => {
        if (!finish()) return;
        // never seen: left uncommitted, the next member starts here at the same attempt
        if (info.reason === 'release' && !info.handedOut) return released();
        if (info.reason === 'release' && !grouped) return done(); // the subscription's own group goes with it
        try {
          await toRetry(record.attempt + 1, delayMs);
        } catch (error) {
          if (info.reason !== 'release') return comeBack(error, delayMs);
          released(); // closing: left uncommitted, the partition's next reader starts here
          throw error;
        }
        done();
      },
    };
    this.#ctx.sink.push(delivery);
  }

  /**
   * Redelivers a message whose retry copy could not be stored: after `delayMs`, once there is
   * room, as attempt + 1, its offset still open (so the commit point waits for it). Not when
   * this member stopped or lost the partition meanwhile: then it is only released, uncommitted,
   * and the partition's next reader starts there.
   */
  #comeBack(
    key: string,
    topic: string,
    offset: number,
    m: KafkaMessage,
    record: ReturnType<typeof decodeRecord>,
    offsets: PartitionOffsets,
    delayMs: number,
    release: () => void,
  ): void {
    let settled = false;
    const releaseOnce = () => {
      if (settled) return;
      settled = true;
      release();
    };
    const timer = setTimeout(
      async () => {
        this.#comingBack.delete(timer);
        while (this.#ctx.sink.capacity === 0 && this.#stillReads(key, offsets))
          await this.#waitForCapacity(1_000);
        if (!settled && this.#stillReads(key, offsets)) {
          this.#deliver(key, topic, offset, m, { ...record, attempt: record.attempt + 1 }, offsets);
        }
        releaseOnce();
      },
      Math.max(0, delayMs),
    );
    this.#comingBack.set(timer, { key, release: releaseOnce });
  }

  /**
   * Whether this member may still hand out messages of partition `key` tracked by `offsets`:
   * not stopped, the partition not being revoked, and not revoked and assigned again since.
   */
  #stillReads(key: string, offsets: PartitionOffsets): boolean {
    return !this.#stopped && !this.#revoking.has(key) && this.#partitions.get(key) === offsets;
  }

  /** Commits at most every `COMMIT_EVERY_MS` (and once more when the member leaves): one request covers many acks. */
  #queueCommit(): void {
    if (this.#commitQueued) return;
    this.#commitQueued = true;
    setTimeout(() => {
      this.#commitQueued = false;
      this.#committing = this.#committing.then(() => this.#commit());
    }, COMMIT_EVERY_MS).unref?.();
  }

  /** Commits each partition's commit point (of `only` these partitions, when given). */
  async #commit(only?: readonly string[]): Promise<void> {
    const points: {
      topic: string;
      partition: number;
      offset: string;
      state: PartitionOffsets;
      at: number;
    }[] = [];
    for (const [key, state] of this.#partitions) {
      if (only && !only.includes(key)) continue;
      const at = state.commitPoint();
      if (at === undefined) continue;
      const [topic, partition] = splitKey(key);
      points.push({ topic, partition, offset: String(at), state, at });
    }
    if (points.length === 0) return;
    try {
      await this.#consumer.commitOffsets(
        points.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
      );
      for (const p of points) p.state.committed(p.at);
    } catch (error) {
      // the consumer is leaving, or the partition moved: the next ack tries again
      if (errorCode(error) === ErrorCodes.ERR__STATE) return;
      this.#ctx.sink.reportError(error);
      this.#ctx.status('commit_failed', (error as Error)?.message);
    }
  }

  /** `fn` as a callback for the client, cut off once the client is disconnected (see disconnected-client.ts). */
  #link<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R | undefined> {
    const link = severableAsync(fn);
    this.#links.push(link);
    return link.callback;
  }

  /** Stops fetching; resolves when no further push will happen. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#onCapacity();
    for (const [timer, back] of this.#comingBack) {
      clearTimeout(timer);
      back.release(); // left uncommitted: the partition's next reader starts there
    }
    this.#comingBack.clear();
    clearInterval(this.#discoveryTimer);
    this.#unlisten?.();
    for (const key of [...this.#dueTimers.keys()]) this.#forgetPauses(key);
    this.#waitingForRoom.clear();
    if (this.#running)
      this.#safely(() =>
        this.#consumer.pause([...this.#topics].flatMap((t) => this.#readsOf(t).map((topic) => ({ topic })))),
      );
    await this.#subscribing.catch(() => undefined);
    await this.#batch;
  }

  /**
   * At most once, a member leaving its group: what was stored on its partitions while it was a
   * member and it never fetched is skipped now — counted as dropped, and committed past — as
   * what it fetched and never handed out is. A group nobody is in starts at the end of each
   * partition, so the next member would skip those records without anyone counting them.
   * Serialised with the revoke callback (see `#rebalance`): a partition is skipped and counted
   * only while this member owns it, so a member that joins meanwhile starts past what was counted
   * instead of reading it too.
   */
  #skipUnread(only?: readonly string[]): Promise<void> {
    const run = this.#skipping.then(() => this.#skipUnreadNow(only));
    this.#skipping = run.catch(() => undefined);
    return run;
  }

  async #skipUnreadNow(only?: readonly string[]): Promise<void> {
    // a partition whose revoke already ran is no longer this member's, whatever the client lists
    const owned =
      only ??
      this.#consumer
        .assignment()
        .map((tp) => keyOf(tp.topic, tp.partition))
        .filter((key) => !this.#revoking.has(key));
    if (owned.length === 0) return;
    // where this member's reading of each partition stands: past its last fetch, or (nothing
    // fetched since it was assigned the partition) the group's commit, where it started
    const next = new Map<string, number>();
    const unread: { topic: string; partition: number }[] = [];
    for (const key of owned) {
      const at = this.#amoNext.get(key);
      if (at !== undefined) next.set(key, at);
      else {
        const [topic, partition] = splitKey(key);
        unread.push({ topic, partition });
      }
    }
    const committed = await retrying(() => committedOffsets(this.#consumer, unread, COMMITTED_TIMEOUT_MS));
    for (const c of committed)
      if (Number(c.offset) >= 0) next.set(keyOf(c.topic, c.partition), Number(c.offset));
    const skips: { topic: string; partition: number; offset: string }[] = [];
    let skipped = 0;
    for (const topic of new Set([...next.keys()].map((key) => splitKey(key)[0]))) {
      for (const { partition, high } of await retrying(() => this.#ctx.admin.fetchTopicOffsets(topic))) {
        const from = next.get(keyOf(topic, partition));
        if (from === undefined || Number(high) <= from) continue;
        skipped += Number(high) - from;
        skips.push({ topic, partition, offset: String(high) });
      }
    }
    if (skips.length === 0) return;
    // a coordinator still loading or moving (a fresh broker) refuses it for a moment: asked again,
    // or the skipped records would be neither counted nor read by the next member
    await retrying(() => this.#consumer.commitOffsets(skips));
    for (const s of skips) this.#amoNext.set(keyOf(s.topic, s.partition), Number(s.offset));
    this.#ctx.dropped(skipped);
  }

  /** After core settled everything this member held: last commit, leave the group, delete an own group. */
  async finish(): Promise<void> {
    // core settled everything before: only a retry copy's send can still be under way, bounded by
    // publishTimeoutMs (and a producer's renewal, bounded the same): commit only after it, or the
    // partition's next reader would hand out again what was also copied to the retry topic
    // at most once there are no retry copies, and the deliveries still held are dropped by core
    // only after this member has left: waiting for them would only hold back the leave's count
    if (!this.#ctx.atMostOnce)
      await this.#drains.settled(
        undefined,
        Math.max(DRAIN_MAX_MS, 2 * this.#ctx.options.publishTimeoutMs + 10_000),
      );
    await this.#committing;
    await this.#commit();
    if (this.#ctx.atMostOnce && this.#ctx.grouped)
      await this.#skipUnread().catch((e) => this.#ctx.sink.reportError(e));
    this.#disconnecting = true;
    const consumer = this.#consumer;
    await this.#lockStorages.disconnect(consumer).finally(() => {
      this.#leavePool();
      for (const link of this.#links) link.sever();
      forgetMetadata(consumer);
    });
    if (!this.#ctx.grouped) await this.#ctx.admin.deleteGroups([this.#ctx.groupId]).catch(() => undefined);
  }
}
