import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import {
  type BusStatus,
  blameUrlParameters,
  ConfigError,
  DEFAULT_MAX_PAYLOAD_BYTES,
  type DeliveryLevel,
  decodeUrlPart,
  deliveryOption,
  type Logger,
  mergeUrlOptions,
  type OptionNames,
  queryStart,
  readUrlParameters,
  rejectUnknownOptions,
  subjectMatches,
} from '@omnibus/core';
import { NATS_URL_PARAMETERS } from './url-parameters.js';

/** Stream settings Omnibus provisions (or verifies) for every stream it manages. */
export interface StreamSettings {
  /** `limits` (default), `interest` or `workqueue`. */
  retention?: 'limits' | 'interest' | 'workqueue';
  /** Discard messages older than this (ms); 0 = unlimited (default). */
  maxAgeMs?: number;
  /** Largest stream size in bytes; -1 = unlimited (default). */
  maxBytes?: number;
  /** `file` (default, durable) or `memory`. */
  storage?: 'file' | 'memory';
  /** Replicas (default 1). */
  replicas?: number;
  /** Dedupe window for `Nats-Msg-Id` (ms, default 120,000). */
  duplicateWindowMs?: number;
}

/** An explicitly configured stream: which subjects it holds. */
export interface StreamDefinition extends StreamSettings {
  name: string;
  /** NATS subject filters, e.g. `['orders.>']`. */
  subjects: string[];
}

/** Options of `createNatsBus`. */
export interface NatsBusOptions {
  /**
   * Server URL(s): `nats://host:4222`, `tls://…`, comma-separated or an array. Default
   * `nats://127.0.0.1:4222`. A string may end in query parameters (`?storage=memory&maxAgeMs=60000`,
   * listed in the README); one misspelt, or setting an option also given explicitly, is a
   * `ConfigError` naming it (`url.maxAgeMs`). Credentials go before the host as `user:password@`
   * (percent-encode "@", "/", "?", "#" and "%" in them). Refused beside `connection`.
   */
  url?: string | string[];
  /** An existing connection to use instead of connecting; `close()` then leaves it open. */
  connection?: NatsConnection;
  /**
   * Passed to the client's `connect()`: `tls`, `token`, `user`/`pass`, `authenticator`
   * (nkey, creds), `name`, timeouts … Omnibus defaults to reconnecting forever
   * (`maxReconnectAttempts: -1`) and to a ping every 2 s with 2 unanswered ones
   * allowed (`pingInterval: 2000, maxPingOut: 2`), so that a server that stops
   * answering is noticed in seconds rather than the client's default minutes.
   */
  connectOptions?: Partial<ConnectionOptions>;
  /**
   * How long the first connection may take before `createNatsBus` rejects with
   * `ConnectionError` (default 5,000 ms; the client's own default is 20 s). The
   * error says what was reached: nothing listening, no answer, or a server that
   * does not speak NATS (a Redis port, say). `connectOptions.timeout` overrides it.
   */
  connectTimeoutMs?: number;
  /**
   * Explicit streams. A subject goes to the first stream whose subjects match it;
   * any other subject gets an automatic stream for its first token
   * (`<streamPrefix>_<token>` holding `<token>` and `<token>.>`).
   */
  streams?: StreamDefinition[];
  /** Settings of automatic streams, also the defaults of explicit ones. */
  streamDefaults?: StreamSettings;
  /** Prefix of automatic stream names (default `OMNIBUS`). */
  streamPrefix?: string;
  /** `create` (default): create missing streams, verify existing ones. `verify`: never create. */
  provision?: 'create' | 'verify';
  /** Largest payload (default 1 MiB, capped by the server's `max_payload` minus room for headers). */
  maxPayloadBytes?: number;
  /** Called with every connection status change (reconnecting, reconnected, disconnected, error, …). */
  onStatus?: (status: NatsBusStatus) => void;
  /** Where dead-letters, connection loss and recovery are reported (default `console`; `silentLogger` for none). */
  logger?: Logger;
  /**
   * The delivery level of every publish and subscription that does not choose one (default
   * `'at-least-once'`; `'at-most-once'` takes the fast path — docs/contract.md, "Delivery
   * levels"). URL: `?delivery=at-most-once`.
   */
  delivery?: DeliveryLevel;
  /**
   * How long one pull request waits on the server (default 1,000 ms). A group
   * member that closes waits up to this long, so that no message is routed to
   * its expired request. The idle heartbeat is half of it.
   */
  pullExpiresMs?: number;
  /**
   * How long a publish may wait through a connection loss or server restart
   * before it rejects (default 10,000 ms). It is retried once the server is back;
   * every publish carries its id as `Nats-Msg-Id`, so a retry is never stored twice.
   */
  publishTimeoutMs?: number;
  /**
   * How often a subscription whose pattern starts with a wildcard (`*.created`, `>`)
   * lists the streams, to find new ones it missed an advisory for (default 2,000 ms).
   * New streams are normally found at once through the server's stream-created
   * advisories; none of their messages is lost either way (see the README).
   */
  discoveryIntervalMs?: number;
}

/** A connection or consumer status change (`connection` marks loss and recovery). Never contains credentials. */
export type NatsBusStatus = BusStatus;

/** Options after validation. */
export interface ResolvedNatsOptions {
  servers: string[];
  connection: NatsConnection | undefined;
  connectOptions: Partial<ConnectionOptions>;
  connectTimeoutMs: number;
  streams: StreamDefinition[];
  streamDefaults: StreamSettings;
  streamPrefix: string;
  provision: 'create' | 'verify';
  maxPayloadBytes: number;
  onStatus: ((status: NatsBusStatus) => void) | undefined;
  logger: Logger | undefined;
  delivery: DeliveryLevel | undefined;
  pullExpiresMs: number;
  publishTimeoutMs: number;
  discoveryIntervalMs: number;
}

/** Every option name of `createNatsBus`; anything else is refused as a likely typo. */
export const NATS_OPTION_NAMES: OptionNames<NatsBusOptions> = {
  url: true,
  connection: true,
  connectOptions: true,
  connectTimeoutMs: true,
  streams: true,
  streamDefaults: true,
  streamPrefix: true,
  provision: true,
  maxPayloadBytes: true,
  onStatus: true,
  logger: true,
  delivery: true,
  pullExpiresMs: true,
  publishTimeoutMs: true,
  discoveryIntervalMs: true,
};

/** Every stream setting name. */
export const STREAM_SETTING_NAMES: OptionNames<StreamSettings> = {
  retention: true,
  maxAgeMs: true,
  maxBytes: true,
  storage: true,
  replicas: true,
  duplicateWindowMs: true,
};

const STREAM_DEFINITION_NAMES: OptionNames<StreamDefinition> = {
  ...STREAM_SETTING_NAMES,
  name: true,
  subjects: true,
};

/** Default of `connectTimeoutMs`. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** Subjects NATS itself uses: a stream must never capture them. */
const SYSTEM_SUBJECTS = [
  '$JS.API.STREAM.INFO.X',
  '$JS.ACK.S.C.1.1.1.1.1',
  '$SYS.REQ.SERVER.PING',
  '_INBOX.abc.def',
  '$KV.bucket.key',
];
const STREAM_NAME = /^[A-Za-z0-9_-]{1,200}$/;

function fail(field: string, message: string, extra: { hint?: string } = {}): never {
  throw new ConfigError(field, message, { backend: 'nats', ...extra });
}

function checkSettings(
  field: string,
  s: StreamSettings | undefined,
  names: Readonly<Record<string, true>> = STREAM_SETTING_NAMES,
): void {
  if (!s) return;
  rejectUnknownOptions(s, names, { backend: 'nats', prefix: field, what: 'stream setting' });
  if (s.retention !== undefined && !['limits', 'interest', 'workqueue'].includes(s.retention)) {
    fail(`${field}.retention`, `must be 'limits', 'interest' or 'workqueue'`);
  }
  if (s.storage !== undefined && !['file', 'memory'].includes(s.storage))
    fail(`${field}.storage`, `must be 'file' or 'memory'`);
  for (const key of ['maxAgeMs', 'duplicateWindowMs', 'replicas'] as const) {
    const v = s[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 0))
      fail(`${field}.${key}`, 'must be a non-negative integer');
  }
  if (s.maxBytes !== undefined && (!Number.isInteger(s.maxBytes) || s.maxBytes < -1))
    fail(`${field}.maxBytes`, 'must be an integer ≥ -1');
}

/**
 * The client takes credentials from options, not from server URLs, so
 * `nats://user:pass@host` and `nats://token@host` are turned into `user`/`pass`
 * or `token` and removed from the URLs.
 */
function splitCredentials(urls: string[]): { servers: string[]; auth: Partial<ConnectionOptions> } {
  let auth: Partial<ConnectionOptions> = {};
  let seen: string | undefined;
  const servers = urls.map((raw, i) => {
    const withScheme = raw.includes('://') ? raw : `nats://${raw}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      fail('url', `cannot parse server ${i + 1} (${raw})`);
    }
    if (!url.username && !url.password) {
      // an "@" the parser did not read as the end of credentials: a "/", "?" or "#" in them cut them short
      if (raw.includes('@'))
        fail(
          'url',
          `cannot read the credentials of server ${i + 1} ("…@${raw.slice(raw.lastIndexOf('@') + 1)}"): expected nats://user:password@host:port, with "@", "/", "?", "#" and "%" in the user and password percent-encoded (%40, %2F, %3F, %23, %25)`,
        );
      return raw;
    }
    const user = decodeUrlPart(url.username);
    const pass = decodeUrlPart(url.password);
    if (user === undefined || pass === undefined)
      fail(
        'url',
        `a "%" in the user or password of server ${i + 1} (${url.host}) must be percent-encoded as %25`,
      );
    const key = `${user}\u0000${pass}`;
    if (seen !== undefined && seen !== key) fail('url', 'all servers must use the same credentials');
    seen = key;
    auth = url.password ? { user, pass } : { token: user };
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  });
  return { servers, auth };
}

/**
 * Validates options; throws `ConfigError` naming the field, including for
 * option and stream-setting names it does not know (`strams`, `maxAge`). The URL's
 * query parameters (`NATS_URL_PARAMETERS`) are read as options, named `url.<parameter>`
 * in errors; one that sets an option also given explicitly is a `ConfigError` (each
 * option comes from one place). A `url` beside `connection` is refused: it would be ignored.
 */
export function resolveNatsOptions(input: NatsBusOptions = {}): ResolvedNatsOptions {
  rejectUnknownOptions(input, NATS_OPTION_NAMES, { backend: 'nats' });
  if (input.connection !== undefined && input.url !== undefined)
    fail('url', 'not used with connection: the connection passed in is the server', {
      hint: 'leave url out, or connection out to let the bus connect',
    });
  const url = typeof input.url === 'string' ? input.url.trim() : input.url;
  const at = typeof url === 'string' ? queryStart(url) : -1;
  if (typeof url !== 'string' || at < 0) {
    if (Array.isArray(url) && url.some((server) => typeof server === 'string' && queryStart(server) >= 0))
      fail('url', 'query parameters go on a single URL string: "nats://a:4222,nats://b:4222?maxAgeMs=60000"');
    return checked(input);
  }
  // the parameters after the last server apply to the bus; the client gets the servers alone
  const context = { ...URL_CONTEXT, scheme: url.startsWith('tls://') ? 'tls://' : 'nats://' };
  const fromUrl = readUrlParameters(new URLSearchParams(url.slice(at + 1)), NATS_URL_PARAMETERS, context);
  const options = mergeUrlOptions(fromUrl, { ...input, url: url.slice(0, at) }, context);
  return blameUrlParameters(fromUrl, context, () => checked(options));
}

const URL_CONTEXT = {
  field: 'url',
  backend: 'nats',
  hint: 'client options go in the connectOptions option, not in the URL',
} as const;

function checked(options: NatsBusOptions): ResolvedNatsOptions {
  const raw = options.url ?? 'nats://127.0.0.1:4222';
  const urls = (Array.isArray(raw) ? raw : raw.split(',')).map((s) => s.trim()).filter(Boolean);
  if (!options.connection && urls.length === 0) fail('url', 'needs at least one server');
  const { servers, auth } = splitCredentials(urls);
  const streamPrefix = options.streamPrefix ?? 'OMNIBUS';
  if (!STREAM_NAME.test(streamPrefix)) fail('streamPrefix', 'must be letters, digits, "_" or "-"');
  const provision = options.provision ?? 'create';
  if (provision !== 'create' && provision !== 'verify') fail('provision', `must be 'create' or 'verify'`);
  checkSettings('streamDefaults', options.streamDefaults);
  const streams = options.streams ?? [];
  streams.forEach((s, i) => {
    if (!s || !STREAM_NAME.test(s.name ?? ''))
      fail(`streams[${i}].name`, 'must be letters, digits, "_" or "-"');
    if (!Array.isArray(s.subjects) || s.subjects.length === 0)
      fail(`streams[${i}].subjects`, 'must list at least one subject');
    checkSettings(`streams[${i}]`, s, STREAM_DEFINITION_NAMES);
    for (const subject of s.subjects) {
      const captured = SYSTEM_SUBJECTS.find((system) => subjectMatches(subject, system));
      if (captured)
        fail(
          `streams[${i}].subjects`,
          `"${subject}" would also capture the server's own subjects (such as ${captured}) and break JetStream for every client; list the first tokens you use (e.g. "orders.>", "*.created")`,
        );
    }
  });
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1)
    fail('maxPayloadBytes', 'must be a positive integer');
  const publishTimeoutMs = options.publishTimeoutMs ?? 10_000;
  if (!Number.isInteger(publishTimeoutMs) || publishTimeoutMs < 100)
    fail('publishTimeoutMs', 'must be an integer ≥ 100');
  const pullExpiresMs = options.pullExpiresMs ?? 1_000;
  if (!Number.isInteger(pullExpiresMs) || pullExpiresMs < 1000)
    fail('pullExpiresMs', 'must be an integer ≥ 1000 (the client refuses shorter pulls)');
  if (options.onStatus !== undefined && typeof options.onStatus !== 'function')
    fail('onStatus', 'must be a function');
  const discoveryIntervalMs = options.discoveryIntervalMs ?? 2_000;
  if (!Number.isInteger(discoveryIntervalMs) || discoveryIntervalMs < 100)
    fail('discoveryIntervalMs', 'must be an integer ≥ 100 (milliseconds)');
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (!Number.isInteger(connectTimeoutMs) || connectTimeoutMs < 1)
    fail('connectTimeoutMs', 'must be a positive integer (milliseconds)');
  return {
    servers,
    connection: options.connection,
    connectOptions: { ...auth, ...options.connectOptions },
    connectTimeoutMs,
    streams,
    streamDefaults: options.streamDefaults ?? {},
    streamPrefix,
    provision,
    maxPayloadBytes,
    onStatus: options.onStatus,
    logger: options.logger,
    delivery: deliveryOption(options.delivery, 'nats'),
    pullExpiresMs,
    publishTimeoutMs,
    discoveryIntervalMs,
  };
}
