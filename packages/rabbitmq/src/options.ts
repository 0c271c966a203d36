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
import type { ConnectionOptions } from 'rabbitmq-client';

/** Options of `createRabbitMqBus`. */
export interface RabbitMqBusOptions {
  /**
   * `amqp://[user:password@]host:5672[/vhost]` or `amqps://…` (TLS). Default
   * `amqp://guest:guest@127.0.0.1:5672`. Query parameters set Omnibus options: `exchange`,
   * `queuePrefix`, `queueType`, `maxPayloadBytes`, `connectTimeoutMs`, `publishTimeoutMs`, `delivery`. Any
   * other parameter, or one that sets an option also given explicitly, is a `ConfigError`
   * naming it (`url.exchange`); client options go in `connectionOptions`.
   */
  url?: string;
  /** Passed to rabbitmq-client's `Connection` (`tls`, `heartbeat`, `retryLow`, `retryHigh` …) with the URL. */
  connectionOptions?: Omit<
    ConnectionOptions,
    'url' | 'hostname' | 'port' | 'username' | 'password' | 'vhost'
  >;
  /** The durable topic exchange every subject is published to (default `omnibus`). */
  exchange?: string;
  /** Prefix of every queue the bus declares (default `omnibus.`): groups, subscriptions, delays. */
  queuePrefix?: string;
  /**
   * The type of a group's queue, its delay queues and the dead-letter store (default
   * `'classic'`). `'quorum'` replicates them over a cluster's nodes and survives the loss of a
   * minority. On RabbitMQ 3.10, a quorum queue whose only node is killed within about a second of
   * the queue's creation can stay without a leader after the restart (publishes to it are never
   * confirmed): the faults suite found it, so the single-node default is classic.
   */
  queueType?: 'classic' | 'quorum';
  /** Largest payload (default 1 MiB). */
  maxPayloadBytes?: number;
  /** Connecting gives up after this long with `ConnectionError` (ms, default 5,000). */
  connectTimeoutMs?: number;
  /**
   * How long a publish may wait for the broker's confirm, through a connection loss
   * included, before it rejects with `PublishError` (ms, default 10,000). The outcome of a
   * publish rejected this way is unknown: it may have been stored.
   */
  publishTimeoutMs?: number;
  /** Connection and consumer status changes (`error`, `unresponsive`, `reconnected`, `responsive`, `consumer_reopened` …). */
  onStatus?: (status: BusStatus) => void;
  /** Where dead-letters, connection loss and recovery are reported (default `console`; `silentLogger` for none). */
  logger?: Logger;
  /**
   * The delivery level of every publish and subscription that does not choose one (default
   * `'at-least-once'`, the only level this adapter has). URL: `?delivery=`.
   */
  delivery?: DeliveryLevel;
}

/** Options after validation. */
export interface ResolvedRabbitMqOptions {
  url: string;
  connectionOptions: RabbitMqBusOptions['connectionOptions'] & object;
  exchange: string;
  queuePrefix: string;
  queueType: 'classic' | 'quorum';
  maxPayloadBytes: number;
  connectTimeoutMs: number;
  publishTimeoutMs: number;
  onStatus: ((status: BusStatus) => void) | undefined;
  logger: Logger | undefined;
  delivery: DeliveryLevel | undefined;
}

const KNOWN: OptionNames<RabbitMqBusOptions> = {
  url: true,
  connectionOptions: true,
  exchange: true,
  queuePrefix: true,
  queueType: true,
  maxPayloadBytes: true,
  connectTimeoutMs: true,
  publishTimeoutMs: true,
  onStatus: true,
  logger: true,
  delivery: true,
};

/**
 * Omnibus options an `amqp://` URL may carry as query parameters (removed before the
 * client sees the URL). The README lists exactly these (a test holds it to them).
 */
export const RABBITMQ_URL_PARAMETERS: UrlParameters = {
  exchange: { type: 'text' },
  queuePrefix: { type: 'text' },
  queueType: { type: 'text' },
  maxPayloadBytes: { type: 'integer' },
  connectTimeoutMs: { type: 'integer' },
  publishTimeoutMs: { type: 'integer' },
  delivery: { type: 'text' },
};

const URL_CONTEXT = {
  field: 'url',
  scheme: 'amqp://',
  backend: 'rabbitmq',
  hint: 'client options go in the connectionOptions option, not in the URL',
} as const;

/** Exchange and queue-prefix names: short, and free of what would need quoting in tools. */
const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The largest message RabbitMQ 3.10 accepts by default is 128 MiB; Omnibus keeps its own cap. */
const MAX_PAYLOAD_CEILING = 128 * 1024 * 1024;

function fail(field: string, message: string): never {
  throw new ConfigError(field, message, { backend: 'rabbitmq' });
}

function int(
  field: string,
  value: unknown,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    fail(
      field,
      max === Number.MAX_SAFE_INTEGER
        ? `must be an integer ≥ ${min}`
        : `must be an integer from ${min} to ${max}`,
    );
  return value;
}

/**
 * Validates options; throws `ConfigError` naming the field (unknown names included). A URL
 * query parameter is named as `url.<parameter>`; one that sets an option also given
 * explicitly is a `ConfigError` too.
 */
export function resolveRabbitMqOptions(input: RabbitMqBusOptions = {}): ResolvedRabbitMqOptions {
  rejectUnknownOptions(input, KNOWN, { backend: 'rabbitmq' });
  const url = input.url ?? 'amqp://guest:guest@127.0.0.1:5672';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail(
      'url',
      'cannot parse the URL; expected amqp://host:port[/vhost] or amqps://…, credentials as user:password@ before the host',
    );
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:')
    fail('url', `scheme must be amqp:// or amqps://, not ${parsed.protocol}//`);
  const fromUrl = readUrlParameters(parsed.searchParams, RABBITMQ_URL_PARAMETERS, URL_CONTEXT);
  parsed.search = '';
  const options = mergeUrlOptions(fromUrl, input, URL_CONTEXT);
  return blameUrlParameters(fromUrl, URL_CONTEXT, () => checked(options, parsed.toString()));
}

function name(field: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !NAME.test(value))
    fail(field, 'must be 1–64 characters of A–Z, a–z, 0–9, "_", ".", ":" or "-"');
  if (value.startsWith('amq.')) fail(field, 'names starting with "amq." are reserved by RabbitMQ');
  return value;
}

/** `hosts`, as rabbitmq-client parses them: `host` or `host:port`, no IPv6 literal (it splits at ":"). */
function hosts(value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.length === 0)
    fail('connectionOptions.hosts', 'must be a non-empty array of "host:port" strings');
  for (const host of value)
    if (typeof host !== 'string' || !/^[^:\s[\]/]+(:\d{1,5})?$/.test(host))
      fail(
        'connectionOptions.hosts',
        `${JSON.stringify(host)} is not "host" or "host:port" (IPv6 literals are not supported by rabbitmq-client: use a host name)`,
      );
}

function queueType(value: unknown): 'classic' | 'quorum' {
  if (value === undefined) return 'classic';
  if (value !== 'classic' && value !== 'quorum') fail('queueType', 'must be "classic" or "quorum"');
  return value;
}

function checked(options: RabbitMqBusOptions, url: string): ResolvedRabbitMqOptions {
  if (options.onStatus !== undefined && typeof options.onStatus !== 'function')
    fail('onStatus', 'must be a function');
  const connectionOptions = options.connectionOptions ?? {};
  if (typeof connectionOptions !== 'object' || connectionOptions === null)
    fail('connectionOptions', 'must be an object');
  for (const field of ['url', 'hostname', 'port', 'username', 'password', 'vhost'])
    if (field in connectionOptions) fail(`connectionOptions.${field}`, 'goes in the url option');
  hosts(connectionOptions.hosts);
  return {
    url,
    connectionOptions,
    exchange: name('exchange', options.exchange, 'omnibus'),
    queuePrefix: name('queuePrefix', options.queuePrefix, 'omnibus.'),
    queueType: queueType(options.queueType),
    maxPayloadBytes: int(
      'maxPayloadBytes',
      options.maxPayloadBytes,
      DEFAULT_MAX_PAYLOAD_BYTES,
      1,
      MAX_PAYLOAD_CEILING,
    ),
    connectTimeoutMs: int('connectTimeoutMs', options.connectTimeoutMs, 5_000, 100),
    publishTimeoutMs: int('publishTimeoutMs', options.publishTimeoutMs, 10_000, 100),
    onStatus: options.onStatus,
    logger: options.logger,
    delivery: deliveryOption(options.delivery, 'rabbitmq'),
  };
}
