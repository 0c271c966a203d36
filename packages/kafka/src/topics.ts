import { createHash } from 'node:crypto';
import { ConfigError, InvalidSubjectError, subjectMatches } from '@omnibus/core';
import { transient } from './admin-retry.js';
import type { Admin } from './client.js';
import { type ResolvedKafkaOptions, TOPIC_NAME } from './options.js';

/** Suffix of the retry topic that belongs to each subject topic. */
export const RETRY_SUFFIX = '.omnibus-retry';
/** First tokens whose default topic name `topicFor` keeps at hand. */
const DEFAULT_TOPICS_CACHED = 10_000;
/**
 * The management API's record of removed messages, after the topic prefix. No first token maps
 * to it (`_` always starts a byte escape there, and subjects starting with `_` are reserved), and
 * discovery skips it by name.
 */
export const REMOVALS_TOPIC = '_omnibus-removed';
/** Kafka's longest topic name. */
const MAX_TOPIC_LENGTH = 249;
/** Characters a first token keeps as they are in its topic name. */
const KEPT = /^[A-Za-z0-9-]$/;
/** Marks a truncated name: `_h` + 32 hex digits of the SHA-256 of the whole token. */
const HASH_MARK = '_h';
const HASH_HEX = 32;

/**
 * The topic-name form of a subject's first token, at most `max` characters. `A–Z a–z 0–9 -`
 * stay as they are (so a token made only of them is its own name, as in earlier versions);
 * every other character — `_` included — becomes `_xx` per byte of its UTF-8 encoding
 * (lowercase hex: `café` → `caf_c3_a9`), a lone surrogate `_uxxxx`. The result never contains
 * `.`, so no two tokens' names collide even under Kafka's rule that `.` and `_` clash in metric
 * names, and `_` always starts an escape, so the encoding is reversible. A result longer than
 * `max` keeps its head (cut between escapes) and ends in `_h` + 32 hex digits of the SHA-256
 * of the whole token (`h` is no hex digit: no untruncated name contains `_h`).
 */
export function encodeTopicToken(token: string, max: number): string {
  let out = '';
  const ends: number[] = [];
  for (const ch of token) {
    if (KEPT.test(ch)) out += ch;
    else if (ch.length === 1 && ch.charCodeAt(0) >= 0xd800 && ch.charCodeAt(0) <= 0xdfff)
      out += `_u${ch.charCodeAt(0).toString(16)}`;
    else for (const b of Buffer.from(ch, 'utf8')) out += `_${b.toString(16).padStart(2, '0')}`;
    ends.push(out.length);
  }
  if (out.length <= max) return out;
  const hash = `${HASH_MARK}${createHash('sha256').update(token, 'utf8').digest('hex').slice(0, HASH_HEX)}`;
  const room = max - hash.length;
  let cut = 0;
  for (const end of ends) {
    if (end > room) break;
    cut = end;
  }
  return `${out.slice(0, cut)}${hash}`;
}

/** `decodeTopicToken`'s answer for a truncated (hashed) name: one of ours, token unknown. */
export const HASHED = Symbol('hashed');
const HEX2 = /^[0-9a-f]{2}$/;
const HEX4 = /^d[89a-f][0-9a-f]{2}$/;

/**
 * The first token whose `encodeTopicToken` form is `name`; `HASHED` for a truncated name;
 * `undefined` when `name` is not such a form.
 */
export function decodeTopicToken(name: string): string | typeof HASHED | undefined {
  if (name.includes(HASH_MARK)) return /_h[0-9a-f]{32}$/.test(name) ? HASHED : undefined;
  let token = '';
  let bytes: number[] = [];
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const flush = () => {
    if (bytes.length === 0) return true;
    try {
      token += decoder.decode(Uint8Array.from(bytes));
    } catch {
      return false;
    }
    bytes = [];
    return true;
  };
  for (let i = 0; i < name.length; ) {
    const c = name[i] as string;
    if (c === '_' && name[i + 1] === 'u' && HEX4.test(name.slice(i + 2, i + 6))) {
      if (!flush()) return undefined;
      token += String.fromCharCode(Number.parseInt(name.slice(i + 2, i + 6), 16));
      i += 6;
    } else if (c === '_' && HEX2.test(name.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(name.slice(i + 1, i + 3), 16));
      i += 3;
    } else if (KEPT.test(c)) {
      if (!flush()) return undefined;
      token += c;
      i++;
    } else return undefined;
  }
  if (!flush() || token.length === 0) return undefined;
  // only the canonical form counts (e.g. an escaped "a" is no name this adapter makes)
  return encodeTopicToken(token, Number.MAX_SAFE_INTEGER) === name ? token : undefined;
}
const DEFAULT_PARTITIONS = 3;
/** Longest a created topic may take until the brokers report a leader for each of its partitions. */
const LEADERS_WAIT_MS = 30_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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

  /**
   * The topic of a subject (or of a pattern whose first token is literal). Default:
   * `<topicPrefix>` + `encodeTopicToken(first token)`, sized so that the retry topic's name fits
   * in Kafka's 249 characters too — valid for every valid subject. A custom `topicFor` that
   * gives no valid topic name is an `InvalidSubjectError`.
   */
  topicFor(subject: string): string {
    const custom = this.#options.topicFor;
    if (!custom) return this.#defaultTopicOf(subject);
    return this.#checked(subject, custom(subject));
  }

  /** `topic` when it is a valid name for a subject topic, else the `InvalidSubjectError` for `subject`. */
  #checked(subject: string, topic: unknown): string {
    if (
      typeof topic !== 'string' ||
      !TOPIC_NAME.test(topic) ||
      topic.length + RETRY_SUFFIX.length > MAX_TOPIC_LENGTH ||
      topic.endsWith(RETRY_SUFFIX)
    ) {
      throw new InvalidSubjectError(
        subject,
        `topicFor maps it to topic ${JSON.stringify(topic)}, which is not a valid Kafka topic name (a–z, A–Z, 0–9, ".", "_", "-"; at most ${MAX_TOPIC_LENGTH - RETRY_SUFFIX.length} characters, to leave room for "${RETRY_SUFFIX}")`,
        {
          backend: 'kafka',
          hint: `make topicFor return such a name for every subject (replace other characters, e.g. with "_"; never end in "${RETRY_SUFFIX}"), or leave topicFor out for a topic per first token`,
        },
      );
    }
    return topic;
  }

  /** Default topic names by first token, made once each (bounded: cleared when full). */
  readonly #defaultTopics = new Map<string, string>();

  /**
   * `<topicPrefix>` + `encodeTopicToken(first token)`, checked when first made (a first token
   * `omnibus-retry` would name a retry topic) and then taken from the cache.
   */
  #defaultTopicOf(subject: string): string {
    const first = subject.split('.', 1)[0] as string;
    let topic = this.#defaultTopics.get(first);
    if (topic === undefined) {
      const prefix = this.#options.topicPrefix;
      topic = this.#checked(
        subject,
        `${prefix}${encodeTopicToken(first, MAX_TOPIC_LENGTH - RETRY_SUFFIX.length - prefix.length)}`,
      );
      if (this.#defaultTopics.size >= DEFAULT_TOPICS_CACHED) this.#defaultTopics.clear();
      this.#defaultTopics.set(first, topic);
    }
    return topic;
  }

  /** Is this one of the topics Omnibus manages (for discovery)? */
  isSubjectTopic(topic: string): boolean {
    return (
      topic.startsWith(this.#options.topicPrefix) &&
      !topic.endsWith(RETRY_SUFFIX) &&
      !topic.startsWith('__') &&
      topic !== `${this.#options.topicPrefix}${REMOVALS_TOPIC}`
    );
  }

  /**
   * Could a subject whose first token matches `first` (a token, `*` or `>`) live on `topic`?
   * Under a custom `topicFor`, always. Otherwise the topic's name is decoded back to its token
   * (a truncated name may hold any); a name this version does not make counts only when an
   * earlier version could have made it (the raw token, `_` unescaped).
   */
  mayHold(topic: string, first: string): boolean {
    if (!this.perFirstToken) return true;
    const name = topic.slice(this.#options.topicPrefix.length);
    const token = decodeTopicToken(name);
    if (token === HASHED) return true;
    if (token !== undefined) return subjectMatches(first, token);
    return /^[A-Za-z0-9_-]+$/.test(name) && subjectMatches(first, name);
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
    // the client does not wait for the new topics' leaders: on a cluster of several brokers the
    // broker asked next may not know a new topic yet. Wait here until every partition has one.
    await this.#admin.createTopics({
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
          {
            backend: 'kafka',
            hint:
              t.partitions.length < numPartitions
                ? `leave topics.numPartitions out to use the topic as it is, use a new topicPrefix, or add partitions yourself (kafka-topics.sh --alter --topic ${t.name} --partitions ${numPartitions}; this moves subjects to other partitions)`
                : `leave topics.numPartitions out (or set it to ${t.partitions.length}) to use the topic as it is, or use a new topicPrefix: Kafka cannot take partitions away`,
          },
        );
      }
    }
  }

  /** The topics' metadata once every partition of each has a leader (bounded by `LEADERS_WAIT_MS`). */
  async #waitForLeaders(wanted: string[]) {
    const deadline = Date.now() + LEADERS_WAIT_MS;
    for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
      try {
        const topics = await this.#admin.fetchTopicMetadata({ topics: wanted });
        const led = topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
        if (topics.length === wanted.length && led) return topics;
      } catch (error) {
        if (!transient(error) || Date.now() > deadline) throw error;
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
