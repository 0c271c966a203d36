import { ConfigError, InvalidSubjectError } from '@omnibus/core';
import type { Admin } from 'kafkajs';
import { type ResolvedKafkaOptions, TOPIC_NAME } from './options.js';

/** Suffix of the retry topic that belongs to each subject topic. */
export const RETRY_SUFFIX = '.omnibus-retry';
const DEFAULT_PARTITIONS = 3;
/** Longest a created topic may take until the brokers report a leader for each of its partitions. */
const LEADERS_WAIT_MS = 30_000;
/** What a broker answers about a topic it has not caught up with yet. */
const NOT_YET = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether `error` (or its cause) says the topic is not known or led yet on the broker asked. */
function notYet(error: unknown): boolean {
  let e = error as { type?: string; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 4; depth++, e = e.cause as typeof e) {
    if (e.type && NOT_YET.has(e.type)) return true;
  }
  return false;
}

/**
 * Which topic a subject lives on, and making sure topics exist: created with the
 * configured partitions and replication, or verified (an explicitly configured
 * setting that differs is a `ConfigError`), never changed.
 */
export class TopicRegistry {
  readonly #admin: Admin;
  readonly #options: ResolvedKafkaOptions;
  readonly #ready = new Map<string, Promise<void>>();
  readonly #listeners = new Set<(topic: string) => void>();

  constructor(admin: Admin, options: ResolvedKafkaOptions) {
    this.#admin = admin;
    this.#options = options;
  }

  /** True when `topicFor` is the default (a topic per first token). */
  get perFirstToken(): boolean {
    return this.#options.topicFor === undefined;
  }

  /** The topic of a subject; `InvalidSubjectError` when the mapping gives no valid topic name. */
  topicFor(subject: string): string {
    const custom = this.#options.topicFor;
    const topic = custom ? custom(subject) : `${this.#options.topicPrefix}${subject.split('.', 1)[0]}`;
    if (typeof topic !== 'string' || !TOPIC_NAME.test(topic) || topic.endsWith(RETRY_SUFFIX)) {
      throw new InvalidSubjectError(
        subject,
        `it maps to topic ${JSON.stringify(topic)}, which is not a valid Kafka topic name (a–z, A–Z, 0–9, ".", "_", "-"; at most 249 characters)${custom ? '' : ': use such characters in the first token, or configure topicFor'}`,
        { backend: 'kafka' },
      );
    }
    return topic;
  }

  /** Is this one of the topics Omnibus manages (for discovery)? */
  isSubjectTopic(topic: string): boolean {
    return (
      topic.startsWith(this.#options.topicPrefix) && !topic.endsWith(RETRY_SUFFIX) && !topic.startsWith('__')
    );
  }

  /** Called with every topic this bus creates or verifies (wildcard subscriptions add it at once). */
  onTopic(listener: (topic: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Makes sure the topic and its retry topic exist. Cached; a failure is retried on the next call. */
  ensure(topic: string): Promise<void> {
    let ready = this.#ready.get(topic);
    if (!ready) {
      ready = this.#create(topic).then(
        () => {
          for (const l of this.#listeners) l(topic);
        },
        (error) => {
          this.#ready.delete(topic);
          throw error;
        },
      );
      this.#ready.set(topic, ready);
    }
    return ready;
  }

  /** Every subject topic on the cluster. */
  async list(): Promise<string[]> {
    return (await this.#admin.listTopics()).filter((t) => this.isSubjectTopic(t));
  }

  async #create(topic: string): Promise<void> {
    const { numPartitions, replicationFactor } = this.#options.topics;
    const wanted = [topic, `${topic}${RETRY_SUFFIX}`];
    // kafkajs's own waitForLeaders asks the broker that took the request (under KRaft any broker)
    // and retries only LEADER_NOT_AVAILABLE: on a cluster of several brokers that one may not
    // know the new topic yet (UNKNOWN_TOPIC_OR_PARTITION) and the create fails. Wait here instead.
    await this.#admin.createTopics({
      waitForLeaders: false,
      topics: wanted.map((t) => ({
        topic: t,
        numPartitions: numPartitions ?? DEFAULT_PARTITIONS,
        ...(replicationFactor !== undefined ? { replicationFactor } : {}),
      })),
    });
    const topics = await this.#waitForLeaders(wanted);
    if (numPartitions === undefined) return;
    for (const t of topics) {
      if (t.partitions.length !== numPartitions) {
        throw new ConfigError(
          'topics.numPartitions',
          `topic "${t.name}" exists with ${t.partitions.length} partitions, not ${numPartitions}; Omnibus never changes an existing topic`,
          { backend: 'kafka' },
        );
      }
    }
  }

  /** The topics' metadata once every partition of each has a leader (bounded by `LEADERS_WAIT_MS`). */
  async #waitForLeaders(wanted: string[]) {
    const deadline = Date.now() + LEADERS_WAIT_MS;
    for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
      try {
        const { topics } = await this.#admin.fetchTopicMetadata({ topics: wanted });
        const led = topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
        if (topics.length === wanted.length && led) return topics;
      } catch (error) {
        if (!notYet(error) || Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `topics ${wanted.join(', ')} have no leader for every partition after ${LEADERS_WAIT_MS} ms`,
        );
      }
      await sleep(delay);
    }
  }
}
