import type { ConnectionOptions as TlsOptions } from 'node:tls';
import {
  type BusStatus,
  blameUrlParameters,
  ConfigError,
  type DeliveryLevel,
  decodeUrlPart,
  deliveryOption,
  type Logger,
  mergeUrlOptions,
  type OptionNames,
  readUrlParameters,
  rejectUnknownOptions,
  splitAuthority,
  type UrlOptions,
  type UrlParameters,
} from '@omnibus/core';
import type { Kafka, SASLOptions } from './client.js';

/** Settings of the topics Omnibus creates (or verifies, when set explicitly). */
export interface KafkaTopicSettings {
  /** Partitions of a created topic (default 3; a subject stays on one partition). */
  numPartitions?: number;
  /** Replication factor of a created topic (default: the broker's default). */
  replicationFactor?: number;
}

/** Options of `createKafkaBus`. */
export interface KafkaBusOptions {
  /**
   * `kafka://host:9092[,host2:9092]` or `kafka+ssl://…`; `kafka://user:password@host:9092`
   * means SASL/PLAIN (use `sasl` for SCRAM). Default `kafka://127.0.0.1:9092`. Query
   * parameters set Omnibus options: `topicPrefix`, `groupPrefix`, `clientId`,
   * `numPartitions`, `replicationFactor`, `maxPayloadBytes`, `connectTimeoutMs`,
   * `publishTimeoutMs`, `topicDiscoveryMs`, `maxWaitTimeMs`, `sessionTimeoutMs`. Any
   * other parameter, or one that sets an option also given explicitly, is a
   * `ConfigError` naming it (`url.topicprefix`). Refused beside `brokers` or `kafka`
   * (they name the brokers).
   */
  url?: string;
  /** Bootstrap brokers (`host:port`); instead of `url`. */
  brokers?: string[];
  /**
   * An existing `Kafka` instance of `@confluentinc/kafka-javascript`'s KafkaJS API
   * (`require('@confluentinc/kafka-javascript').KafkaJS.Kafka`) to use instead of creating one:
   * its brokers, TLS, SASL and logging stay yours. A kafkajs instance is no longer accepted
   * (changed in 1.0: the adapter runs on librdkafka).
   */
  kafka?: Kafka;
  /** Client id (default `omnibus`). */
  clientId?: string;
  /**
   * TLS: `true`, or Node TLS options of which `ca`, `cert`, `key` (PEM), `passphrase` and
   * `rejectUnauthorized: false` are passed to librdkafka (others are not read).
   */
  ssl?: boolean | TlsOptions;
  /** SASL: `{ mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512', username, password }`. */
  sasl?: SASLOptions;
  /**
   * Subject → topic. Default: `<topicPrefix><first token>` (a topic per first token,
   * as NATS has a stream per first token). Must return a valid topic name.
   */
  topicFor?: (subject: string) => string;
  /** Prefix of automatic topic names (default `omnibus.`). */
  topicPrefix?: string;
  /** Prefix of consumer group ids (default `omnibus.`). */
  groupPrefix?: string;
  /** Settings of topics Omnibus creates; explicit settings are also verified on existing topics. */
  topics?: KafkaTopicSettings;
  /** Largest payload (default 1,000,000 bytes; keep it under the broker's `message.max.bytes`). */
  maxPayloadBytes?: number;
  /** Connecting gives up after this with `ConnectionError` (ms, default 10,000). */
  connectTimeoutMs?: number;
  /**
   * How long a publish may wait through a broker outage (the idempotent producer
   * keeps retrying) before it rejects with `PublishError` (ms, default 30,000: a
   * restarted broker takes a while to lead its partitions again). The outcome of
   * a publish rejected this way is unknown — it may still be stored, once.
   */
  publishTimeoutMs?: number;
  /**
   * How often a subscription whose pattern can span topics (it starts with a
   * wildcard, or `topicFor` is custom) looks for new topics (ms, default 5,000).
   * Topics this bus creates itself are seen at once.
   */
  topicDiscoveryMs?: number;
  /** Longest a fetch waits on the broker (ms, default 250): bounds how late a delayed retry can start. */
  maxWaitTimeMs?: number;
  /** Consumer session timeout (ms, default 10,000): how long a crashed member holds its partitions. */
  sessionTimeoutMs?: number;
  /** Connection, consumer and client-log events (redacted). */
  onStatus?: (status: KafkaBusStatus) => void;
  /** Where dead-letters, connection loss and recovery are reported (default `console`; `silentLogger` for none). */
  logger?: Logger;
  /**
   * The delivery level of every publish and subscription that does not choose one (default
   * `'at-least-once'`; `'at-most-once'` takes the fast path — docs/contract.md, "Delivery
   * levels"). URL: `?delivery=at-most-once`.
   */
  delivery?: DeliveryLevel;
}

/** A connection or consumer status change (`connection` marks loss and recovery). Never contains credentials. */
export type KafkaBusStatus = BusStatus;

/** Options after validation. */
export interface ResolvedKafkaOptions {
  brokers: string[];
  kafka: Kafka | undefined;
  clientId: string;
  ssl: boolean | TlsOptions | undefined;
  sasl: SASLOptions | undefined;
  topicFor: ((subject: string) => string) | undefined;
  topicPrefix: string;
  groupPrefix: string;
  topics: KafkaTopicSettings;
  maxPayloadBytes: number;
  connectTimeoutMs: number;
  publishTimeoutMs: number;
  topicDiscoveryMs: number;
  maxWaitTimeMs: number;
  sessionTimeoutMs: number;
  onStatus: ((status: KafkaBusStatus) => void) | undefined;
  logger: Logger | undefined;
  delivery: DeliveryLevel | undefined;
}

const KNOWN: OptionNames<KafkaBusOptions> = {
  url: true,
  brokers: true,
  kafka: true,
  clientId: true,
  ssl: true,
  sasl: true,
  topicFor: true,
  topicPrefix: true,
  groupPrefix: true,
  topics: true,
  maxPayloadBytes: true,
  connectTimeoutMs: true,
  publishTimeoutMs: true,
  topicDiscoveryMs: true,
  maxWaitTimeMs: true,
  sessionTimeoutMs: true,
  onStatus: true,
  logger: true,
  delivery: true,
};

/**
 * Default payload limit: 1,000,000 bytes, leaving room for headers and record
 * overhead under the broker's default `message.max.bytes` (1,048,588).
 */
export const DEFAULT_KAFKA_MAX_PAYLOAD = 1_000_000;

/** Kafka's own rule for topic names. */
export const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const BROKER = /^[A-Za-z0-9.[\]:-]+:\d+$/;

function fail(field: string, message: string): never {
  throw new ConfigError(field, message, { backend: 'kafka' });
}

function int(field: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
    fail(field, `must be an integer ≥ ${min}`);
  return value;
}

/**
 * Omnibus options a `kafka://` URL may carry as query parameters. The READMEs list
 * exactly these (a test holds them to it).
 */
export const KAFKA_URL_PARAMETERS: UrlParameters = {
  topicPrefix: { type: 'text' },
  groupPrefix: { type: 'text' },
  clientId: { type: 'text' },
  numPartitions: { option: 'topics.numPartitions', type: 'integer' },
  replicationFactor: { option: 'topics.replicationFactor', type: 'integer' },
  maxPayloadBytes: { type: 'integer' },
  connectTimeoutMs: { type: 'integer' },
  publishTimeoutMs: { type: 'integer' },
  topicDiscoveryMs: { type: 'integer' },
  maxWaitTimeMs: { type: 'integer' },
  sessionTimeoutMs: { type: 'integer' },
  delivery: { type: 'text' },
};

const URL_CONTEXT = { field: 'url', scheme: 'kafka://', backend: 'kafka' } as const;

/** What follows the last `@` of a URL: never part of its credentials, so safe to show. */
const afterLastAt = (text: string) => text.slice(text.lastIndexOf('@') + 1);

/** Splits a `kafka://` URL into brokers, TLS, SASL/PLAIN credentials and query options. */
function fromUrl(url: string): {
  brokers: string[];
  ssl: boolean;
  sasl: SASLOptions | undefined;
  query: UrlOptions;
} {
  const match = /^(kafka|kafka\+ssl):\/\/(.*)$/i.exec(url.trim());
  if (!match) fail('url', 'expected kafka://host:9092[,host2:9092] or kafka+ssl://…');
  const authority = splitAuthority(match[2] ?? '', (h) => BROKER.test(h));
  // after the last `@` there are no credentials: a broker there without its port is said so
  const tail = afterLastAt(match[2] ?? '');
  if (!authority && !/[/?#]/.test(tail))
    for (const h of tail.split(',').filter(Boolean))
      if (!BROKER.test(h)) fail('url', `broker "${h}" must be host:port`);
  if (!authority)
    fail(
      'url',
      `cannot read the credentials and brokers (kafka://user:password@host:9092; after the last "@": "${afterLastAt(match[2] ?? '')}"): percent-encode "@", "/", "?" and "%" in the password (%40, %2F, %3F, %25)`,
    );
  const query = authority.tail.includes('?') ? authority.tail.slice(authority.tail.indexOf('?') + 1) : '';
  const hosts = authority.hosts.split(',').filter(Boolean);
  let sasl: SASLOptions | undefined;
  if (authority.userinfo !== undefined) {
    const colon = authority.userinfo.indexOf(':');
    if (colon < 0) fail('url', 'credentials in the URL must be user:password');
    const username = decodeUrlPart(authority.userinfo.slice(0, colon));
    const password = decodeUrlPart(authority.userinfo.slice(colon + 1));
    if (username === undefined || password === undefined)
      fail('url', `a "%" in the user or password (of ${hosts.join(',')}) must be percent-encoded as %25`);
    sasl = { mechanism: 'plain', username, password };
  }
  if (hosts.length === 0) fail('url', 'needs at least one broker host:port');
  for (const h of hosts) if (!BROKER.test(h)) fail('url', `broker "${h}" must be host:port`);
  return {
    brokers: hosts,
    ssl: match[1]?.toLowerCase() === 'kafka+ssl',
    sasl,
    query: readUrlParameters(new URLSearchParams(query), KAFKA_URL_PARAMETERS, URL_CONTEXT),
  };
}

/**
 * Validates options; throws `ConfigError` naming the field (unknown names
 * included). A URL query parameter is named as `url.<parameter>`, also when its
 * value is out of range; one that sets an option also given explicitly is a
 * `ConfigError` too (each option comes from one place).
 */
export function resolveKafkaOptions(input: KafkaBusOptions = {}): ResolvedKafkaOptions {
  rejectUnknownOptions(input, KNOWN, { backend: 'kafka' });
  if ((input.kafka !== undefined || input.brokers !== undefined) && input.url !== undefined)
    fail(
      'url',
      `not used with ${input.kafka !== undefined ? 'kafka: the client passed in names the brokers' : 'brokers: they replace the URL'}`,
    );
  if (input.kafka || input.brokers) return checked(input, input.brokers, input.ssl, input.sasl);
  const parsed = fromUrl(input.url ?? 'kafka://127.0.0.1:9092');
  const options = mergeUrlOptions(parsed.query, input, URL_CONTEXT);
  return blameUrlParameters(parsed.query, URL_CONTEXT, () =>
    checked(options, parsed.brokers, options.ssl ?? (parsed.ssl || undefined), options.sasl ?? parsed.sasl),
  );
}

function checked(
  options: KafkaBusOptions,
  brokers: string[] | undefined,
  ssl: KafkaBusOptions['ssl'],
  sasl: SASLOptions | undefined,
): ResolvedKafkaOptions {
  if (brokers) for (const h of brokers) if (!BROKER.test(h)) fail('brokers', `"${h}" must be host:port`);
  const topicPrefix = options.topicPrefix ?? 'omnibus.';
  if (topicPrefix !== '' && !/^[a-zA-Z0-9._-]{1,100}$/.test(topicPrefix))
    fail('topicPrefix', 'must be up to 100 characters of a–z, A–Z, 0–9, ".", "_" or "-"');
  const groupPrefix = options.groupPrefix ?? 'omnibus.';
  if (options.topicFor !== undefined && typeof options.topicFor !== 'function')
    fail('topicFor', 'must be a function');
  if (options.onStatus !== undefined && typeof options.onStatus !== 'function')
    fail('onStatus', 'must be a function');
  const topics = options.topics ?? {};
  rejectUnknownOptions(
    topics,
    { numPartitions: true, replicationFactor: true },
    { backend: 'kafka', prefix: 'topics' },
  );
  if (topics.numPartitions !== undefined) int('topics.numPartitions', topics.numPartitions, 0, 1);
  if (topics.replicationFactor !== undefined) int('topics.replicationFactor', topics.replicationFactor, 0, 1);
  return {
    brokers: brokers ?? [],
    kafka: options.kafka,
    clientId: options.clientId ?? 'omnibus',
    ssl,
    sasl,
    topicFor: options.topicFor,
    topicPrefix,
    groupPrefix,
    topics,
    maxPayloadBytes: int('maxPayloadBytes', options.maxPayloadBytes, DEFAULT_KAFKA_MAX_PAYLOAD, 1),
    connectTimeoutMs: int('connectTimeoutMs', options.connectTimeoutMs, 10_000, 100),
    publishTimeoutMs: int('publishTimeoutMs', options.publishTimeoutMs, 30_000, 100),
    topicDiscoveryMs: int('topicDiscoveryMs', options.topicDiscoveryMs, 5_000, 100),
    maxWaitTimeMs: int('maxWaitTimeMs', options.maxWaitTimeMs, 250, 10),
    sessionTimeoutMs: int('sessionTimeoutMs', options.sessionTimeoutMs, 10_000, 6_000),
    onStatus: options.onStatus,
    logger: options.logger,
    delivery: deliveryOption(options.delivery, 'kafka'),
  };
}
