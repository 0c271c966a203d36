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
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Message as KafkaRecord } from 'kafkajs';
import { retrying } from './admin-retry.js';
import { decodeRecord, retryRecord } from './envelope.js';
import type { ResolvedKafkaOptions } from './options.js';
import { PartitionOffsets } from './partition-offsets.js';
import { RETRY_SUFFIX, type TopicRegistry } from './topics.js';

/** What one subscription's consumer needs from the driver. */
export interface ConsumerLoopContext {
  readonly kafka: Kafka;
  readonly admin: Admin;
  /** Stores a retry-topic copy (renewing a failed producer, a few tries); rejects when it could not. */
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
  readonly sink: DeliverySink;
  status(type: string, detail?: string): void;
  /** Records arrived: the connection works (reports recovery after a loss). */
  alive(): void;
}

/** How long acks gather before their offsets are committed together. */
const COMMIT_EVERY_MS = 50;

const retryTopicOf = (topic: string) => (topic.endsWith(RETRY_SUFFIX) ? topic : `${topic}${RETRY_SUFFIX}`);

/**
 * One subscription's Kafka consumer (its own consumer group, or the named
 * group's). Commits only after ack, up to the lowest offset not yet done in each
 * partition. A nak, a handler failure or an ack timeout sends a copy to the
 * subject topic's retry topic (attempt + 1, due time, group) and marks the
 * original done, so the partition never waits for a delay; the retry topic's
 * partition pauses only while its head is not yet due. A message released unseen
 * on close stays uncommitted: the next member starts there, at the same attempt.
 * When its retry copy cannot be stored, a message comes back from this member
 * itself (attempt + 1, after its delay), its offset still open: the partition's
 * commit point waits for it, never skips it.
 */
export class ConsumerLoop {
  readonly #ctx: ConsumerLoopContext;
  readonly #consumer: Consumer;
  readonly #topics = new Set<string>();
  readonly #partitions = new Map<string, PartitionOffsets>();
  readonly #resumeTimers = new Set<ReturnType<typeof setTimeout>>();
  /** Spans topics that may be created later (pattern starts with a wildcard, or a custom mapping). */
  readonly #discovers: boolean;
  #stopped = false;
  /** Waiters for capacity (a partition's batch, a message coming back). */
  readonly #capacityWaiters = new Set<() => void>();
  /** Messages whose retry copy could not be stored, waiting for their delay → release them now (on stop). */
  readonly #comingBack = new Map<ReturnType<typeof setTimeout>, () => void>();
  #batch: Promise<void> = Promise.resolve();
  #held = 0;
  #whenIdle: (() => void) | undefined;
  #commitQueued = false;
  #committing: Promise<void> = Promise.resolve();
  #discoveryTimer: ReturnType<typeof setInterval> | undefined;
  #unlisten: (() => void) | undefined;
  #restarting: Promise<void> | undefined;
  #onJoin: ((assignment: Record<string, number[]>) => void) | undefined;
  /** At most once, a group planned as empty: each partition's commit when the plan was made. */
  readonly #planCommitted = new Map<string, string>();

  constructor(ctx: ConsumerLoopContext) {
    this.#ctx = ctx;
    const first = ctx.pattern.split('.', 1)[0] as string;
    this.#discovers = !ctx.topics.perFirstToken ? hasWildcard(ctx.pattern) : first === '*' || first === '>';
    this.#consumer = ctx.kafka.consumer({
      groupId: ctx.groupId,
      sessionTimeout: ctx.options.sessionTimeoutMs,
      heartbeatInterval: Math.min(1_000, Math.floor(ctx.options.sessionTimeoutMs / 3)),
      maxWaitTimeInMs: ctx.options.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 2_000 },
    });
    ctx.sink.onCapacity(() => this.#wakeAll());
    const { GROUP_JOIN, CRASH, CONNECT } = this.#consumer.events;
    this.#consumer.on(GROUP_JOIN, (e) => {
      const assigned = e.payload.memberAssignment as Record<string, number[]>;
      // partitions this member lost: their unacked messages belong to the new owner now
      for (const key of [...this.#partitions.keys()]) {
        const [topic, partition] = splitKey(key);
        if (!assigned[topic]?.includes(partition)) this.#partitions.delete(key);
      }
      ctx.status('group_joined', ctx.groupId);
      const onJoin = this.#onJoin;
      this.#onJoin = undefined;
      onJoin?.(assigned);
    });
    // a rebalance starts: commit what is done now, with this generation, before kafkajs rejoins (its
    // JoinGroup goes out after this request on the coordinator's connection). Afterwards the commit
    // would be refused (a new generation) and a partition handed to another member would be read
    // again from the last commit: messages acked here handed out a second time
    this.#consumer.on(this.#consumer.events.REBALANCING, () => {
      this.#committing = this.#committing.then(() => this.#commit());
    });
    this.#consumer.on(CRASH, (e) => ctx.status('consumer_crashed', String(e.payload.error?.message ?? '')));
    this.#consumer.on(CONNECT, () => ctx.status('consumer_connected', ctx.groupId));
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
    const plan = await this.#startPlan(initial);
    for (const t of initial) this.#topics.add(t);
    await this.#consumer.connect();
    await this.#run(plan);
  }

  /**
   * Subscribes and runs the consumer. With a start plan (the first run), every
   * topic stays paused until this member has joined and moved the partitions it
   * got that have no committed offset to their planned start, and committed that:
   * nothing is fetched from a wrong position, and nothing published after
   * `subscribe` resolved is missed.
   */
  async #run(plan?: StartPlan): Promise<void> {
    const topics = [...this.#topics].flatMap((t) => this.#readsOf(t));
    if (topics.length === 0) return; // nothing to read until a topic appears
    await this.#consumer.subscribe({ topics, fromBeginning: true });
    const joined = new Promise<Record<string, number[]>>((resolve) => {
      this.#onJoin = resolve;
    });
    const running = this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => {
        const batch = this.#ctx.atMostOnce ? this.#eachBatchAtMostOnce(payload) : this.#eachBatch(payload);
        this.#batch = batch.catch(() => undefined);
        return batch;
      },
    });
    if (!plan) return running;
    const all = topics.map((topic) => ({ topic }));
    this.#consumer.pause(all);
    await running;
    const limit = this.#ctx.options.connectTimeoutMs * 3;
    const assignment = await withTimeout(joined, limit, `joining the group took longer than ${limit} ms`);
    const seeks: { topic: string; partition: number; offset: string }[] = [];
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const offset = plan.get(topic)?.get(partition);
        if (offset !== undefined) seeks.push({ topic, partition, offset });
      }
    }
    const moved = await this.#movedSincePlan();
    const applied = seeks.filter((seek) => !moved.has(`${seek.topic}\u0000${seek.partition}`));
    for (const seek of applied) this.#consumer.seek(seek);
    if (applied.length > 0) await this.#consumer.commitOffsets(applied);
    this.#consumer.resume(all);
  }

  /**
   * Where a group starts on partitions it has no committed offset for: `from`
   * on subject topics, the end on retry topics. Topics found later start at their
   * beginning (everything in them is newer than the subscription).
   */
  async #startPlan(topics: string[]): Promise<StartPlan> {
    const plan: StartPlan = new Map();
    if (topics.length === 0) return plan;
    const { admin, groupId, from } = this.#ctx;
    const all = topics.flatMap((t) => this.#readsOf(t));
    const committed = await retrying(() => admin.fetchOffsets({ groupId, topics: all }));
    // at most once, a group nobody is in starts at the end: what was published meanwhile is missed
    const fresh = this.#ctx.atMostOnce && (await this.#groupIsEmpty());
    for (const { topic, partitions } of committed) {
      if (fresh)
        for (const p of partitions) this.#planCommitted.set(`${topic}\u0000${p.partition}`, p.offset);
      const missing = new Set(
        partitions.filter((p) => fresh || Number(p.offset) < 0).map((p) => p.partition),
      );
      if (missing.size === 0) continue;
      const retry = topic.endsWith(RETRY_SUFFIX);
      const byTime = !retry && typeof from === 'object';
      const positions: { partition: number; offset?: string; low?: string; high?: string }[] = byTime
        ? await retrying(() => admin.fetchTopicOffsetsByTimestamp(topic, from.time))
        : await retrying(() => admin.fetchTopicOffsets(topic));
      const chosen = new Map<number, string>();
      for (const p of positions) {
        if (!missing.has(p.partition)) continue;
        chosen.set(
          p.partition,
          String((byTime ? p.offset : !retry && from === 'earliest' ? p.low : p.high) ?? '0'),
        );
      }
      plan.set(topic, chosen);
    }
    return plan;
  }

  async #addTopics(candidates: string[]): Promise<void> {
    if (this.#stopped) return;
    const fresh = candidates.filter(
      (t) => !this.#topics.has(t) && this.#ctx.topics.isSubjectTopic(t) && this.#mayHold(t),
    );
    if (fresh.length === 0) return;
    for (const t of fresh) this.#topics.add(t);
    // kafkajs subscribes only while stopped: restart the consumer with the larger set
    const previous = this.#restarting ?? Promise.resolve();
    this.#restarting = previous.then(async () => {
      if (this.#stopped) return;
      this.#ctx.status('topics_added', fresh.join(','));
      // stopping leaves the group, and its partitions may move to another member: commit what
      // was acked first, or that member would get it again from the last commit
      await this.#committing;
      await this.#commit();
      await this.#consumer.stop();
      await this.#run();
    });
    await this.#restarting.catch((e) => this.#ctx.sink.reportError(e));
  }

  /** The topics read for a subject topic: it and its retry topic (at most once: it alone). */
  #readsOf(topic: string): string[] {
    return this.#ctx.atMostOnce ? [topic] : [topic, retryTopicOf(topic)];
  }

  /** Could a subject matching the pattern live on `topic`? */
  #mayHold(topic: string): boolean {
    return this.#ctx.topics.mayHold(topic, this.#ctx.pattern.split('.', 1)[0] as string);
  }

  #wakeAll(): void {
    const waiters = [...this.#capacityWaiters];
    this.#capacityWaiters.clear();
    for (const w of waiters) w();
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

  async #eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale, pause }: EachBatchPayload) {
    this.#ctx.alive();
    const { topic, partition } = batch;
    const key = `${topic}\u0000${partition}`;
    let offsets = this.#partitions.get(key);
    if (!offsets) {
      offsets = new PartitionOffsets();
      this.#partitions.set(key, offsets);
    }
    const retry = topic.endsWith(RETRY_SUFFIX);
    for (const m of batch.messages) {
      if (this.#stopped || !isRunning() || isStale()) break;
      const offset = Number(m.offset);
      if (offsets.seen(offset)) {
        resolveOffset(m.offset); // re-fetched after a rebalance or restart: already ours
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
        // the head of this retry partition is not due: pause only this partition
        const resume = pause();
        this.#consumer.seek({ topic, partition, offset: m.offset });
        const timer = setTimeout(() => {
          this.#resumeTimers.delete(timer);
          resume();
        }, wait);
        this.#resumeTimers.add(timer);
        break;
      }
      while (this.#ctx.sink.capacity === 0 && !this.#stopped) {
        await this.#waitForCapacity(1_000);
        await heartbeat();
        if (!isRunning() || isStale()) return;
      }
      if (this.#stopped) break;
      offsets.take(offset);
      this.#deliver(key, topic, offset, m, record, offsets);
      resolveOffset(m.offset);
    }
    await heartbeat();
  }

  /**
   * At most once: the batch's offsets are committed first, then its matching messages are pushed
   * (attempt 1, nothing to settle). A message is never handed out twice, whoever reads the
   * partition next; when the commit fails (a rebalance), nothing of the batch is handed out here
   * and the partition's next reader reads it again.
   */
  async #eachBatchAtMostOnce({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) {
    this.#ctx.alive();
    const { topic, partition } = batch;
    const deliveries: InboundDelivery[] = [];
    let last: string | undefined;
    for (const m of batch.messages) {
      if (this.#stopped || !isRunning() || isStale()) break;
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
    resolveOffset(last);
    for (const delivery of deliveries) this.#ctx.sink.push(delivery);
    await heartbeat();
  }

  /**
   * At most once, a group planned as empty: the partitions whose commit moved since the plan (a
   * member that started alongside this one has handed out from there). Their commit stands: a
   * seek back would hand out again what it handed out, a seek forward would skip.
   */
  async #movedSincePlan(): Promise<Set<string>> {
    const moved = new Set<string>();
    if (this.#planCommitted.size === 0) return moved;
    const { admin, groupId } = this.#ctx;
    const topics = [...new Set([...this.#planCommitted.keys()].map((key) => splitKey(key)[0]))];
    const now = await retrying(() => admin.fetchOffsets({ groupId, topics }));
    for (const { topic, partitions } of now) {
      for (const p of partitions) {
        const key = `${topic}\u0000${p.partition}`;
        const before = this.#planCommitted.get(key);
        if (before !== undefined && before !== p.offset) moved.add(key);
      }
    }
    this.#planCommitted.clear();
    return moved;
  }

  /** True when the consumer group has no members (it is new, or every member left). */
  async #groupIsEmpty(): Promise<boolean> {
    const { admin, groupId } = this.#ctx;
    const { groups } = await retrying(() => admin.describeGroups([groupId]));
    return (groups[0]?.members.length ?? 0) === 0;
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
    this.#held++;
    let finished = false;
    /** Claims the one settlement of this delivery; false when it was already settled. */
    const finish = (): boolean => {
      if (finished) return false;
      finished = true;
      return true;
    };
    /** The settlement is complete (its retry copy stored, its offset marked): the member may leave now. */
    const released = () => {
      this.#held--;
      if (this.#held === 0 && this.#whenIdle) {
        const idle = this.#whenIdle;
        this.#whenIdle = undefined;
        idle();
      }
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
        while (this.#ctx.sink.capacity === 0 && !this.#stopped) await this.#waitForCapacity(1_000);
        if (!settled && !this.#stopped && this.#partitions.get(key) === offsets) {
          this.#deliver(key, topic, offset, m, { ...record, attempt: record.attempt + 1 }, offsets);
        }
        releaseOnce();
      },
      Math.max(0, delayMs),
    );
    this.#comingBack.set(timer, releaseOnce);
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

  async #commit(): Promise<void> {
    const points: {
      topic: string;
      partition: number;
      offset: string;
      state: PartitionOffsets;
      at: number;
    }[] = [];
    for (const [key, state] of this.#partitions) {
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
      // a rebalance is under way or the partition moved: the next ack tries again
      this.#ctx.sink.reportError(error);
      this.#ctx.status('commit_failed', (error as Error)?.message);
    }
  }

  /** Stops fetching; resolves when no further push will happen. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wakeAll();
    for (const [timer, release] of this.#comingBack) {
      clearTimeout(timer);
      release(); // left uncommitted: the partition's next reader starts there
    }
    this.#comingBack.clear();
    clearInterval(this.#discoveryTimer);
    this.#unlisten?.();
    for (const t of this.#resumeTimers) clearTimeout(t);
    this.#consumer.pause([...this.#topics].flatMap((t) => this.#readsOf(t).map((topic) => ({ topic }))));
    await this.#restarting?.catch(() => undefined);
    await this.#batch;
  }

  /** After core settled everything this member held: last commit, leave the group, delete an own group. */
  async finish(): Promise<void> {
    if (this.#held > 0) {
      await new Promise<void>((resolve) => {
        this.#whenIdle = resolve;
      });
    }
    await this.#committing;
    await this.#commit();
    await this.#consumer.disconnect();
    if (!this.#ctx.grouped) await this.#ctx.admin.deleteGroups([this.#ctx.groupId]).catch(() => undefined);
  }
}

/** Partitions without a committed offset → where they start (per topic). */
type StartPlan = Map<string, Map<number, string>>;

function splitKey(key: string): [string, number] {
  const i = key.lastIndexOf('\u0000');
  return [key.slice(0, i), Number(key.slice(i + 1))];
}
