import {
  type BusStatus,
  ConnectionError,
  type ResponsivenessWatcher,
  redact,
  safeCause,
  watchResponsiveness,
  withTimeout,
} from '@omnibus/core';
import calculateSlot from 'cluster-key-slot';
import { type Cluster, Redis, type RedisOptions, ReplyError } from 'ioredis';
import type { ResolvedRedisOptions } from './options.js';

/** Either kind of ioredis client. */
export type AnyRedis = Redis | Cluster;

const reconnectForever = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000);

/** The URL without its credentials, for messages. */
export function safeUrl(url: string): string {
  return redact(url);
}

/** How often the main connection is pinged, and how long a ping may go unanswered before the connection counts as lost. */
const PING_EVERY_MS = 1_000;
const PING_LOST_AFTER_MS = 3_000;

/**
 * Reports a client's connection events (redacted); always listens for `error`.
 * Only the bus's main connection marks connection loss and recovery: when
 * ioredis reconnects, and — because a server that stops answering (paused,
 * partitioned) keeps its TCP connection open and ioredis never notices — when a
 * ping sent every second has had no answer for 3 s. Returns a stop function
 * (the ping timer).
 */
export function watchClient(
  client: AnyRedis,
  role: string,
  report: (status: BusStatus) => void,
  main = false,
): () => void {
  const say = (type: string, detail?: string, connection?: 'lost' | 'restored') =>
    report({
      type,
      detail: detail === undefined ? role : redact(`${role}: ${detail}`),
      ...(main && connection ? { connection } : {}),
    });
  let lost = false;
  let watcher: ResponsivenessWatcher | undefined;
  const markLost = (type: string, detail?: string) => {
    if (!lost) say(type, detail, 'lost');
    lost = true;
  };
  const markRestored = (type: string) => {
    if (lost) say(type, undefined, 'restored');
    lost = false;
  };
  const onError = (error: Error) => say('error', error?.message ?? String(error));
  const onReconnecting = () => markLost('reconnecting');
  const onReady = () => {
    markRestored('reconnected');
    watcher?.answered(); // the reconnect was an answer: no outage counted from before it
  };
  client.on('error', onError);
  client.on('reconnecting', onReconnecting);
  client.on('ready', onReady);
  /** Removes the listeners: a client passed in by the caller outlives the bus and must not hold it. */
  const unlisten = () => {
    client.off('error', onError);
    client.off('reconnecting', onReconnecting);
    client.off('ready', onReady);
  };
  if (!main) return unlisten;

  watcher = watchResponsiveness({
    // an error reply (a user without +ping) is still an answer
    probe: () => client.ping().catch((error: unknown) => ensureReply(error)),
    ready: () => client.status === 'ready', // reconnecting: the events above tell
    everyMs: PING_EVERY_MS,
    unresponsiveAfterMs: PING_LOST_AFTER_MS,
    onUnresponsive: (detail) => markLost('unresponsive', detail),
    onResponsive: () => markRestored('responsive'),
  });
  const stopWatcher = watcher.stop;
  return () => {
    stopWatcher();
    unlisten();
  };
}

/** Rethrows `error` unless it is a reply the server sent (the server answered). */
function ensureReply(error: unknown): void {
  if (!(error instanceof ReplyError)) throw error;
}

/**
 * Disconnects a client whose connect failed, releasing its socket at once. ioredis's
 * `disconnect()` ends the socket gracefully and destroys it only after `disconnectTimeout`
 * (2 s by default) — a timer left running even when the socket had closed already, and a socket
 * left open meanwhile when the server never answers: the process could not exit for that long.
 * A failed connect has nothing to flush.
 */
export function disconnectNow(client: AnyRedis): void {
  closeAtOnce(client);
  client.disconnect();
}

/** Makes every later `disconnect()` of `client` destroy its socket at once (see `disconnectNow`). */
function closeAtOnce(client: AnyRedis): void {
  const connector = (client as unknown as { connector?: { disconnectTimeout?: number } }).connector;
  if (connector && typeof connector.disconnectTimeout === 'number') connector.disconnectTimeout = 0;
}

/** The events that tell a client's connection closed: a Cluster's node connections close without a 'close' of the cluster. */
export const CONNECTION_CLOSED_EVENTS = ['close', 'node error', '-node'] as const;

/**
 * Waits until `client` is ready, at most `timeoutMs`; on failure disconnects it
 * (releasing its socket at once) and throws a credential-free `ConnectionError` saying what
 * was tried.
 */
export async function waitReady(client: Redis, url: string, timeoutMs: number): Promise<void> {
  let lastError: unknown;
  const onError = (error: unknown) => {
    lastError = error;
  };
  client.on('error', onError);
  try {
    await withTimeout(
      client.status === 'ready' ? Promise.resolve() : client.connect(),
      timeoutMs,
      `no answer within ${timeoutMs} ms`,
    );
  } catch (error) {
    disconnectNow(client);
    const cause = lastError ?? error;
    const text = String((cause as Error)?.message ?? cause);
    // ioredis's own words for a server that does not speak RESP ("Protocol error, got "I" as reply type byte")
    const notRedis = /protocol error/i.test(text);
    // a server that reads our first command as garbage and hangs up (Kafka, PostgreSQL)
    const hungUp = !notRedis && /connection is closed|EPIPE|ECONNRESET/i.test(text);
    throw new ConnectionError(
      `cannot connect to ${safeUrl(url)}: ${
        notRedis
          ? 'the server there does not speak the Redis protocol'
          : hungUp
            ? 'the server there closed the connection without answering a Redis command'
            : text
      }`,
      {
        backend: 'redis',
        cause: safeCause(cause),
        hint:
          notRedis || hungUp
            ? `is ${safeUrl(url)} another service's port (NATS listens on 4222, Kafka on 9092, PostgreSQL on 5432)? Redis listens on 6379 by default${hungUp ? '; if it is Redis, its log says why it closed the connection (maxclients, or TLS: then use rediss://)' : ''}`
            : /WRONGPASS|NOAUTH|NOPERM/.test(text)
              ? 'Redis answered and refused the credentials: check the user and password in the URL (redis://user:password@host:6379, percent-encoded) or in redisOptions'
              : 'check that Redis runs there and is reachable (redis-cli -u <url> ping); on a slow network raise connectTimeoutMs',
      },
    );
  } finally {
    client.off('error', onError);
  }
}

/** Opens the bus's main client (or adopts `options.client`). */
export async function openClient(
  options: ResolvedRedisOptions,
): Promise<{ client: AnyRedis; owned: boolean }> {
  if (options.client) return { client: options.client, owned: false };
  const redisOptions: RedisOptions = {
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs,
    maxRetriesPerRequest: null, // commands wait for the reconnect; publishes are bounded by publishTimeoutMs
    enableAutoPipelining: true,
    retryStrategy: reconnectForever,
    connectionName: 'omnibus',
    ...options.redisOptions,
  };
  const client = new Redis(options.url, redisOptions);
  await waitReady(client, options.url, options.connectTimeoutMs);
  return { client, owned: true };
}

/**
 * A dedicated connection for one subscription's blocking reads: a blocking
 * command holds its connection, and a reply lost with a dropped connection must
 * fail the read (`maxRetriesPerRequest: 0`) so that it is re-issued, never hang.
 */
export function blockingClient(client: AnyRedis, name: string): Redis {
  const blocking = duplicateOf(client, {
    lazyConnect: true,
    enableAutoPipelining: false,
    maxRetriesPerRequest: 0,
    connectionName: name,
  });
  // a read given up on must leave the server at once: a socket ended gracefully stays open
  // (ioredis destroys it 2 s later) and a command queued meanwhile could still run on it
  closeAtOnce(blocking);
  return blocking;
}

/**
 * The connection that serves `key`: a plain client itself, or a Cluster's
 * connection to the master that owns the key's slot (undefined while its slot
 * map is not known). For the commands that name no key but must reach that
 * node (`CLIENT ID`, `CLIENT UNBLOCK`, `CLIENT KILL`): a Cluster sends those to
 * a random node.
 */
export function connectionFor(client: AnyRedis, key: string): Redis | undefined {
  if (client instanceof Redis) return client;
  const cluster = client as Cluster;
  const owner = cluster.slots[calculateSlot(key)]?.[0];
  if (owner === undefined) return undefined;
  return cluster.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === owner);
}

/**
 * A connection that writes each command at once (no auto-pipelining, which holds a command for
 * a tick to gather more): publishes awaited one by one cost one round trip each. Commands wait
 * for a reconnect, as on the bus's own connection (their callers bound them).
 */
export function directClient(client: AnyRedis): Redis {
  return duplicateOf(client, { lazyConnect: true, enableAutoPipelining: false });
}

function duplicateOf(client: AnyRedis, options: RedisOptions): Redis {
  const duplicate =
    client instanceof Redis
      ? client.duplicate(options)
      : // a Cluster: a plain connection to the node that owns the bus's slot is resolved per read by ioredis
        ((client as Cluster).duplicate(undefined, { redisOptions: options }) as unknown as Redis);
  // its failures reach the caller as rejected commands; the bus's own connection reports the outage
  duplicate.on('error', () => undefined);
  return duplicate;
}

/** Detects AOF persistence (`INFO persistence`); false when the server will not say. */
export async function detectDurable(client: AnyRedis): Promise<boolean> {
  const info = (await client.info('persistence')) as string;
  return /^aof_enabled:1\s*$/m.test(info);
}
