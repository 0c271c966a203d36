import { randomUUID } from 'node:crypto';
import {
  assertPattern,
  type DriverManagement,
  type GroupInfo,
  InvalidArgumentError,
  PublishError,
  type StoredMessage,
  safeCause,
  settledWithin,
  subjectMatches,
  withTimeout,
} from '@omnibus/core';
import { retrying, transient } from './admin-retry.js';
import { type Admin, ErrorCodes, errorCode, type Kafka } from './client.js';
import { decodeRecord } from './envelope.js';
import type { ResolvedKafkaOptions } from './options.js';
import { type PartitionRange, readSnapshot } from './snapshot-read.js';
import { REMOVALS_TOPIC, RETRY_SUFFIX, type TopicRegistry } from './topics.js';

const BACKEND = 'kafka';
/** librdkafka's `ConsumerGroupStates.DEAD`: a group that no longer exists. */
const DEAD = 4;

/**
 * Whether a group on `pattern` reads `topic`: with a topic per first token and a concrete first
 * token, exactly that token's topic (another topic that may hold it — a hashed name — is read by
 * the groups whose tokens it holds, and counting it here would report their records as this
 * group's lag); otherwise every topic that may hold the pattern's first token.
 */
function readsTopic(topics: TopicRegistry, topic: string, pattern: string): boolean {
  const first = pattern.split('.', 1)[0] as string;
  if (!topics.perFirstToken || first === '*' || first === '>') return topics.mayHold(topic, first);
  return topic === topics.topicFor(first);
}

/** Where removals are recorded: `<topicPrefix>_omnibus-removed` (under the prefix: an ACL on the prefix covers it). */
export const REMOVED_TOPIC_NAME = REMOVALS_TOPIC;
/** Group ids of the throw-away browse groups, after the group prefix (a `.` no Omnibus group name has). */
export const BROWSE_GROUP_MARK = 'omnibus.browse.';
/** Omnibus group names (core's rule): anything else under the prefix is not a group of the bus. */
const GROUP_NAME = /^[A-Za-z0-9_-]{1,128}$/;
/** The consumer group of an ungrouped subscription (`sub-<id>`, see `KafkaDriver.subscribe`). */
const UNGROUPED = /^sub-[0-9a-f]{8}[0-9a-z]+(r\d+)?$/;
/** `<topic>:<partition>:<offset>`. */
const REF = /^([a-zA-Z0-9._-]{1,249}):(\d{1,10}):(\d{1,16})$/;
/** Removal records per produce request. */
const REMOVE_CHUNK = 500;
/** Longest a created removals topic may take to get a leader. */
const LEADER_WAIT_MS = 30_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A topic's partitions with their low and high watermarks now. `fetchTopicOffsets` can fail on a
 * topic created a moment ago whose leaders the broker asked does not know yet (a transient
 * error): its metadata is fetched again and the call retried (bounded).
 */
export async function watermarks(
  admin: Admin,
  topic: string,
): Promise<{ partition: number; low: number; high: number }[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      const offsets = (await admin.fetchTopicOffsets(topic)).map((p) => ({
        partition: p.partition,
        low: Number(p.low),
        high: Number(p.high),
      }));
      if (offsets.every((p) => Number.isSafeInteger(p.low) && Number.isSafeInteger(p.high))) return offsets;
      if (attempt >= 10) throw new Error(`topic ${topic}: no watermarks for every partition`);
    } catch (error) {
      const retriable = transient(error) || error instanceof TypeError;
      if (attempt >= 10 || !retriable) throw error;
    }
    await sleep(100 * attempt);
    await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
  }
}

/** What the management half needs from the driver. */
export interface KafkaManagementContext {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly topics: TopicRegistry;
  readonly options: ResolvedKafkaOptions;
}

/**
 * The Kafka bus's management half (see the README's "Management" section).
 *
 * - `browse` reads the topics that may hold the pattern's subjects from their low watermarks up
 *   to the high watermarks taken when it began, through a throw-away consumer group that never
 *   commits and is deleted afterwards, and filters by the real subject (the record's key). References are `<topic>:<partition>:<offset>`.
 * - `remove`: Kafka cannot delete one record. A removal is a record keyed by the reference on
 *   the compacted removals topic (`REMOVED_TOPIC_NAME` under the topic prefix), stored with
 *   `acks: -1` before `remove` resolves; `browse` reads that topic first and leaves removed
 *   records out, for every bus on the same topics.
 * - `groups`: the bus's consumer groups with members (`describeGroups`) and lag (high watermark
 *   − committed offset); Kafka does not track unsettled or redelivered messages, so `pending`
 *   and `redelivered` stay undefined.
 */
export class KafkaManagement implements DriverManagement {
  readonly #ctx: KafkaManagementContext;
  readonly #removedTopic: string;
  /** Patterns this process's grouped subscriptions used, per Omnibus group name. */
  readonly #patterns = new Map<string, Set<string>>();
  #removedReady: Promise<void> | undefined;

  constructor(ctx: KafkaManagementContext) {
    this.#ctx = ctx;
    this.#removedTopic = `${ctx.options.topicPrefix}${REMOVED_TOPIC_NAME}`;
  }

  /** The topic removals are recorded on. */
  get removedTopic(): string {
    return this.#removedTopic;
  }

  /**
   * Notes the pattern a grouped subscription of this bus uses: Kafka records no pattern, so
   * `groups()` reports a group's patterns from here, and its topics for groups this process has
   * not subscribed to.
   */
  notePattern(group: string, pattern: string): void {
    const patterns = this.#patterns.get(group) ?? new Set<string>();
    patterns.add(pattern);
    this.#patterns.set(group, patterns);
  }

  async *browse(
    pattern: string,
    options: { readonly signal?: AbortSignal } = {},
  ): AsyncIterable<StoredMessage> {
    assertPattern(pattern, BACKEND);
    const { signal } = options;
    if (signal?.aborted) return;
    const { admin, kafka, topics, options: o } = this.#ctx;
    const listed = await admin.listTopics();
    const first = pattern.split('.', 1)[0] as string;
    const holding = listed.filter((t) => topics.isSubjectTopic(t) && topics.mayHold(t, first));
    if (holding.length === 0) return;
    const removals = listed.includes(this.#removedTopic) ? [this.#removedTopic] : [];
    const [before, then] = await Promise.all([this.#ranges(removals), this.#ranges(holding)]);
    if (!then.some((r) => r.high > r.low)) return;
    const removed = new Set<string>();
    const records = readSnapshot({
      kafka,
      admin,
      groupId: `${o.groupPrefix}${BROWSE_GROUP_MARK}${randomUUID()}`,
      sessionTimeoutMs: o.sessionTimeoutMs,
      maxWaitTimeMs: o.maxWaitTimeMs,
      first: before,
      then,
      signal,
    });
    for await (const { topic, partition, offset, message } of records) {
      if (topic === this.#removedTopic) {
        const ref = message.key?.toString();
        // a null value (a compaction tombstone) takes the removal back
        if (ref !== undefined) message.value === null ? removed.delete(ref) : removed.add(ref);
        continue;
      }
      const ref = `${topic}:${partition}:${offset}`;
      if (removed.has(ref)) continue;
      const record = decodeRecord(message, ref);
      if (!subjectMatches(pattern, record.subject)) continue;
      yield {
        ref,
        id: record.id,
        subject: record.subject,
        payload: record.payload,
        headers: record.headers,
        publishedAt: record.publishedAt,
      };
    }
  }

  /**
   * Records each reference as removed (one record keyed by it on the compacted removals topic,
   * `acks: -1`) and resolves once the broker stored them all. A reference already removed, or
   * whose record is gone, is not an error. A malformed reference, or one to a topic that is no
   * subject topic of this bus, is an `InvalidArgumentError` and nothing is recorded.
   */
  async remove(refs: readonly string[]): Promise<void> {
    if (!Array.isArray(refs))
      throw new InvalidArgumentError('refs must be an array of references', { backend: BACKEND });
    for (const ref of refs) this.#checkRef(ref);
    const unique = [...new Set(refs)];
    if (unique.length === 0) return;
    const { kafka, options } = this.#ctx;
    const timeoutMs = options.publishTimeoutMs;
    // a producer of its own, not idempotent: a removal stored twice is the same removal
    const producer = kafka.producer({
      kafkaJS: { allowAutoTopicCreation: false, idempotent: false, acks: -1 },
      'linger.ms': 0,
      'message.timeout.ms': timeoutMs,
    });
    try {
      await this.#ensureRemovedTopic();
      await withTimeout(producer.connect(), timeoutMs, `no connection within ${timeoutMs} ms`);
      const at = String(Date.now());
      for (let i = 0; i < unique.length; i += REMOVE_CHUNK) {
        const sending = producer.send({
          topic: this.#removedTopic,
          messages: unique.slice(i, i + REMOVE_CHUNK).map((ref) => ({ key: ref, value: at })),
        });
        sending.catch(() => undefined);
        await withTimeout(sending, timeoutMs, `no acknowledgement within ${timeoutMs} ms`);
      }
    } catch (error) {
      throw new PublishError(
        `recording ${unique.length} removal(s) failed: ${(error as Error)?.message ?? error}; some may be recorded (removing them again is harmless)`,
        { backend: BACKEND, cause: safeCause(error) },
      );
    } finally {
      await settledWithin(producer.disconnect(), 1_000);
    }
  }

  /**
   * The bus's consumer groups (ids under `groupPrefix` that are Omnibus group names; ungrouped
   * subscriptions' own groups and browse groups left out), with `members` from `describeGroups`
   * and `lag` = Σ (high watermark − committed offset) over the partitions of the group's topics
   * and retry topics. A partition without a commit counts from its low watermark: where the group
   * starts reading a topic it finds after it joined. `pending` and `redelivered` are left out:
   * Kafka does not know which delivered messages are unsettled.
   */
  async groups(): Promise<GroupInfo[]> {
    const { admin, topics, options } = this.#ctx;
    const prefix = options.groupPrefix;
    const { groups } = await retrying(() => admin.listGroups());
    const ours = groups
      .filter((g) => g.groupId.startsWith(prefix) && (g.protocolType === 'consumer' || g.protocolType === ''))
      .map((g) => ({ id: g.groupId, name: g.groupId.slice(prefix.length) }))
      .filter((g) => GROUP_NAME.test(g.name) && !UNGROUPED.test(g.name));
    if (ours.length === 0) return [];
    const described = new Map(
      (await retrying(() => admin.describeGroups(ours.map((g) => g.id)))).groups.map((d) => [d.groupId, d]),
    );
    const marksByTopic = new Map<string, Promise<Map<number, { low: number; high: number }>>>();
    const marksOf = (topic: string) => {
      let marks = marksByTopic.get(topic);
      if (!marks) {
        marks = watermarks(admin, topic).then(
          (ps) => new Map(ps.map((p) => [p.partition, p])),
          (error) => {
            // a topic deleted meanwhile holds no lag; any other failure is no zero
            const code = errorCode(error);
            if (code === ErrorCodes.ERR_UNKNOWN_TOPIC_OR_PART || code === ErrorCodes.ERR__UNKNOWN_TOPIC)
              return new Map();
            throw error;
          },
        );
        marksByTopic.set(topic, marks);
      }
      return marks;
    };
    let listed: string[] | undefined;
    const out: GroupInfo[] = [];
    for (const { id, name } of ours) {
      const description = described.get(id);
      if (description?.state === DEAD) continue;
      const committed = await retrying(() => admin.fetchOffsets({ groupId: id }));
      const recorded = this.#patterns.get(name);
      // the topics a recorded pattern spans that the group has not committed on yet
      const uncommitted: string[] = [];
      if (recorded) {
        listed ??= await admin.listTopics();
        const seen = new Set(committed.map((c) => c.topic));
        for (const t of listed) {
          if (!topics.isSubjectTopic(t) || seen.has(t)) continue;
          if (![...recorded].some((p) => readsTopic(topics, t, p))) continue;
          uncommitted.push(t);
          if (listed.includes(`${t}${RETRY_SUFFIX}`) && !seen.has(`${t}${RETRY_SUFFIX}`))
            uncommitted.push(`${t}${RETRY_SUFFIX}`);
        }
      }
      let lag = 0;
      for (const { topic, partitions } of committed) {
        const marks = await marksOf(topic);
        for (const p of partitions) {
          const mark = marks.get(p.partition);
          if (!mark) continue;
          const at = Number(p.offset);
          lag += Math.max(0, mark.high - (at >= 0 ? Math.max(at, mark.low) : mark.low));
        }
      }
      for (const topic of uncommitted) {
        for (const mark of (await marksOf(topic)).values()) lag += Math.max(0, mark.high - mark.low);
      }
      const subjectTopics = committed.map((c) => c.topic).filter((t) => topics.isSubjectTopic(t));
      out.push({
        group: name,
        patterns: recorded ? [...recorded] : [...new Set(subjectTopics)].sort(),
        members: description?.members.length ?? 0,
        lag,
      });
    }
    return out;
  }

  /** Each topic's partitions with their watermarks now. */
  async #ranges(topicNames: readonly string[]): Promise<PartitionRange[]> {
    const { admin } = this.#ctx;
    const all = await Promise.all(
      topicNames.map(async (topic) => (await watermarks(admin, topic)).map((p) => ({ topic, ...p }))),
    );
    return all.flat();
  }

  #checkRef(ref: unknown): void {
    const match = typeof ref === 'string' ? REF.exec(ref) : null;
    const partition = Number(match?.[2]);
    const offset = Number(match?.[3]);
    if (
      !match ||
      partition > 2_147_483_647 ||
      !Number.isSafeInteger(offset) ||
      !this.#ctx.topics.isSubjectTopic(match[1] as string)
    ) {
      throw new InvalidArgumentError(
        `${JSON.stringify(String(ref).slice(0, 300))} is no reference to a stored message of this bus (expected <topic>:<partition>:<offset>, as browse and list give them); nothing was removed`,
        { backend: BACKEND },
      );
    }
  }

  /** Creates the compacted removals topic once (a failure is tried again on the next call). */
  #ensureRemovedTopic(): Promise<void> {
    this.#removedReady ??= this.#createRemovedTopic().catch((error) => {
      this.#removedReady = undefined;
      throw error;
    });
    return this.#removedReady;
  }

  async #createRemovedTopic(): Promise<void> {
    const { admin, options } = this.#ctx;
    const { replicationFactor } = options.topics;
    await admin.createTopics({
      topics: [
        {
          topic: this.#removedTopic,
          numPartitions: 1,
          ...(replicationFactor !== undefined ? { replicationFactor } : {}),
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
    });
    // as TopicRegistry does: any broker of a cluster may not know the new topic yet
    const deadline = Date.now() + LEADER_WAIT_MS;
    for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
      try {
        const topics = await admin.fetchTopicMetadata({ topics: [this.#removedTopic] });
        if (topics[0]?.partitions.some((p) => p.leader >= 0)) return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline)
        throw new Error(`topic ${this.#removedTopic} has no leader after ${LEADER_WAIT_MS} ms`);
      await sleep(delay);
    }
  }
}
