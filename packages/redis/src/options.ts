import {
  type BusStatus,
  blameUrlParameters,
  ConfigError,
  DEFAULT_MAX_PAYLOAD_BYTES,
  type DeliveryLevel,
  deliveryOption,
  type Logger,
  mergeUrlOptions,
  type OptionNames,
  readUrlParameters,
  rejectUnknownOptions,
  type UrlParameters,
} from '@omnibus/core';
import type { Cluster, Redis, RedisOptions } from 'ioredis';

/** How streams are trimmed on every publish (`XADD … MAXLEN|MINID`). */
export interface RedisTrimOptions {
  /** Keep at most this many entries per subject stream. */
  maxLen?: number;
  /** Drop entries older than this (ms), by entry id (`MINID`). */
  maxAgeMs?: number;
  /** `~` trimming: cheaper, may keep a little more than the bound (default false: exact). */
  approximate?: boolean;
}

/** Options of `createRedisBus`. */
export interface RedisBusOptions {
  /**
   * `redis://[user:password@]host:6379[/db]` or `rediss://…` (TLS). Default
   * `redis://127.0.0.1:6379`. Query parameters set Omnibus options: `keyPrefix`,
   * `durable`, `trimMaxLen`, `trimMaxAgeMs`, `dedupeWindowMs`, `maxPayloadBytes`,
   * `blockMs`, `discoveryIntervalMs`, `connectTimeoutMs`, `publishTimeoutMs`. Any other
   * parameter, or one that sets an option also given explicitly, is a `ConfigError`
   * naming it (`url.keyprefix`); ioredis options go in `redisOptions`. Refused beside
   * `client` (the client is the connection).
   */
  url?: string;
  /**
   * An existing ioredis client (`Redis` or `Cluster`) to use instead of connecting;
   * `close()` then leaves it open. Blocking reads use `duplicate()`s of it.
   */
  client?: Redis | Cluster;
  /** Passed to ioredis (`tls`, `username`, `password`, `db`, timeouts …) when Omnibus connects. */
  redisOptions?: Partial<RedisOptions>;
  /** Prefix of every key, wrapped in a hash tag so that a Cluster keeps a bus in one slot (default `omnibus`). */
  keyPrefix?: string;
  /** Trimming applied on every publish (default: none — streams grow until trimmed). */
  trim?: RedisTrimOptions;
  /** Dedupe window for publisher-chosen ids (ms, default 120,000; 0 disables dedupe). */
  dedupeWindowMs?: number;
  /** Largest payload (default 1 MiB). */
  maxPayloadBytes?: number;
  /** Longest a blocking read waits before it is re-issued (ms, default 1,000). */
  blockMs?: number;
  /**
   * How often a wildcard subscription checks the subject registry for subjects it
   * was not told about (a missed notification, e.g. during a reconnect). New
   * subjects normally arrive at once by notification. Default 2,000 ms.
   */
  discoveryIntervalMs?: number;
  /** Connecting gives up after this long with `ConnectionError` (ms, default 5,000). */
  connectTimeoutMs?: number;
  /**
   * How long a publish may wait through a connection loss (commands wait for the
   * reconnect) before it rejects with `PublishError` (ms, default 10,000). The
   * outcome of a publish rejected this way is unknown — it may still be stored
   * when the connection returns — so publish with an `id` to make a retry safe.
   */
  publishTimeoutMs?: number;
  /**
   * Whether acknowledged publishes survive a server restart. Default: detected —
   * true when the server has AOF enabled (`INFO persistence`).
   */
  durable?: boolean;
  /** Connection and consumer status changes (`reconnecting`, `reconnected`, `group_recreated`, `read_failed` …). */
  onStatus?: (status: RedisBusStatus) => void;
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
export type RedisBusStatus = BusStatus;

/** Options after validation. */
export interface ResolvedRedisOptions {
  url: string;
  client: Redis | Cluster | undefined;
  redisOptions: Partial<RedisOptions>;
  keyPrefix: string;
  trim: RedisTrimOptions;
  dedupeWindowMs: number;
  maxPayloadBytes: number;
  blockMs: number;
  discoveryIntervalMs: number;
  connectTimeoutMs: number;
  publishTimeoutMs: number;
  durable: boolean | undefined;
  onStatus: ((status: RedisBusStatus) => void) | undefined;
  logger: Logger | undefined;
  delivery: DeliveryLevel | undefined;
}

const KNOWN: OptionNames<RedisBusOptions> = {
  url: true,
  client: true,
  redisOptions: true,
  keyPrefix: true,
  trim: true,
  dedupeWindowMs: true,
  maxPayloadBytes: true,
  blockMs: true,
  discoveryIntervalMs: true,
  connectTimeoutMs: true,
  publishTimeoutMs: true,
  durable: true,
  onStatus: true,
  logger: true,
  delivery: true,
};
/**
 * Omnibus options a `redis://` URL may carry as query parameters (removed before
 * ioredis sees the URL). The READMEs list exactly these (a test holds them to it).
 */
export const REDIS_URL_PARAMETERS: UrlParameters = {
  keyPrefix: { type: 'text' },
  durable: { type: 'boolean' },
  trimMaxLen: { option: 'trim.maxLen', type: 'integer' },
  trimMaxAgeMs: { option: 'trim.maxAgeMs', type: 'integer' },
  dedupeWindowMs: { type: 'integer' },
  maxPayloadBytes: { type: 'integer' },
  blockMs: { type: 'integer' },
  discoveryIntervalMs: { type: 'integer' },
  connectTimeoutMs: { type: 'integer' },
  publishTimeoutMs: { type: 'integer' },
  delivery: { type: 'text' },
};

const URL_CONTEXT = {
  field: 'url',
  scheme: 'redis://',
  backend: 'redis',
  hint: 'ioredis options go in the redisOptions option, not in the URL',
} as const;

const PREFIX = /^[A-Za-z0-9_.:-]{1,64}$/;

function fail(field: string, message: string): never {
  throw new ConfigError(field, message, { backend: 'redis' });
}

function int(field: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
    fail(field, `must be an integer ≥ ${min}`);
  return value;
}

/**
 * Validates options; throws `ConfigError` naming the field (unknown names
 * included). A URL query parameter is named as `url.<parameter>`, also when its
 * value is out of range; one that sets an option also given explicitly is a
 * `ConfigError` too (each option comes from one place).
 */
export function resolveRedisOptions(input: RedisBusOptions = {}): ResolvedRedisOptions {
  rejectUnknownOptions(input, KNOWN, { backend: 'redis' });
  if (input.client !== undefined && input.url !== undefined)
    throw new ConfigError('url', 'not used with client: the client passed in is the connection', {
      backend: 'redis',
      hint: 'leave url out, or client out to let the bus connect',
    });
  const url = input.url ?? 'redis://127.0.0.1:6379';
  if (input.client) return checked(input, url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // no `user:password@` in the example: messages are redacted, and it would read `redis://***@]host`
    fail(
      'url',
      'cannot parse the URL; expected redis://host:port[/db] or rediss://…, credentials as user:password@ before the host',
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    fail('url', `scheme must be redis:// or rediss://, not ${parsed.protocol}//`);
  const fromUrl = readUrlParameters(parsed.searchParams, REDIS_URL_PARAMETERS, URL_CONTEXT);
  parsed.search = '';
  const options = mergeUrlOptions(fromUrl, input, URL_CONTEXT);
  return blameUrlParameters(fromUrl, URL_CONTEXT, () => checked(options, parsed.toString()));
}

function checked(options: RedisBusOptions, url: string): ResolvedRedisOptions {
  if ((options.redisOptions as { keyPrefix?: unknown } | undefined)?.keyPrefix !== undefined)
    fail(
      'redisOptions.keyPrefix',
      'use the Omnibus keyPrefix option (ioredis prefixing would break the scripts)',
    );
  const keyPrefix = options.keyPrefix ?? 'omnibus';
  if (!PREFIX.test(keyPrefix))
    fail('keyPrefix', 'must be 1–64 characters of A–Z, a–z, 0–9, "_", ".", ":" or "-"');
  const trim = options.trim ?? {};
  if (trim.maxLen !== undefined) int('trim.maxLen', trim.maxLen, 0, 1);
  if (trim.maxAgeMs !== undefined) int('trim.maxAgeMs', trim.maxAgeMs, 0, 1);
  if (trim.maxLen !== undefined && trim.maxAgeMs !== undefined)
    fail('trim', 'set maxLen or maxAgeMs, not both (XADD trims by one strategy)');
  if (options.onStatus !== undefined && typeof options.onStatus !== 'function')
    fail('onStatus', 'must be a function');
  if (options.durable !== undefined && typeof options.durable !== 'boolean')
    fail('durable', 'must be true or false');
  return {
    url,
    client: options.client,
    redisOptions: options.redisOptions ?? {},
    keyPrefix,
    trim,
    dedupeWindowMs: int('dedupeWindowMs', options.dedupeWindowMs, 120_000, 0),
    maxPayloadBytes: int('maxPayloadBytes', options.maxPayloadBytes, DEFAULT_MAX_PAYLOAD_BYTES, 1),
    blockMs: int('blockMs', options.blockMs, 1_000, 10),
    discoveryIntervalMs: int('discoveryIntervalMs', options.discoveryIntervalMs, 2_000, 50),
    connectTimeoutMs: int('connectTimeoutMs', options.connectTimeoutMs, 5_000, 100),
    publishTimeoutMs: int('publishTimeoutMs', options.publishTimeoutMs, 10_000, 100),
    durable: options.durable,
    onStatus: options.onStatus,
    logger: options.logger,
    delivery: deliveryOption(options.delivery, 'redis'),
  };
}
