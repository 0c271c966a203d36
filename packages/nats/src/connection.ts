import { Socket } from 'node:net';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type BusStatus, ConnectionError, redact, safeCause } from '@omnibus/core';
import { isConnectionRefused, isConnectTimeout, isHostNotFound, isNotNatsProtocol } from './nats-errors.js';
import type { ResolvedNatsOptions } from './options.js';
import { releasingOnFailure } from './owned-sockets.js';

const CONNECT_HINT =
  'check the URL (OMNIBUS_URL or `url`): NATS listens on port 4222 by default and needs `nats-server -js`';

/** `host:port` of a server URL, for a TCP probe; undefined when it does not parse. */
function hostPort(server: string): { host: string; port: number } | undefined {
  try {
    const url = new URL(server.includes('://') ? server : `nats://${server}`);
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 4222) };
  } catch {
    return undefined;
  }
}

/** Whether a TCP connection to the server opens within `ms` (only used to explain a failure). */
function tcpOpens(server: string, ms: number): Promise<boolean> {
  const target = hostPort(server);
  if (!target) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.connect(target.port, target.host);
  });
}

/** Says what was reached when the first connection failed; never echoes credentials. */
async function explain(error: unknown, options: ResolvedNatsOptions, timeoutMs: number): Promise<string> {
  const where = options.servers.join(', ');
  if (isNotNatsProtocol(error))
    return `${where} answered, but not as a NATS server (is it another service's port?)`;
  if (isConnectionRefused(error)) return `nothing is listening at ${where} (connection refused)`;
  if (isHostNotFound(error)) return `the host of ${where} does not resolve`;
  if (isConnectTimeout(error)) {
    const open = await Promise.all(options.servers.slice(0, 4).map((s) => tcpOpens(s, 1_000)));
    return open.some(Boolean)
      ? `${where} accepted a TCP connection but sent no NATS greeting within ${timeoutMs} ms (is it another service's port? Kafka listens on 9092, Redis on 6379; NATS on 4222)`
      : `no answer from ${where} within ${timeoutMs} ms`;
  }
  return `${where}: ${(error as Error)?.message ?? error}`;
}

/** The client's ping period (ms) and how many may go unanswered: a silent server is noticed in 4–6 s. */
const PING_INTERVAL_MS = 2_000;
const MAX_PINGS_OUT = 2;

/**
 * Opens (or adopts) the connection; reconnects forever by default once
 * connected. A first connection that fails within `connectTimeoutMs` is a
 * `ConnectionError` saying what was reached. Errors are credential-free.
 */
export async function openConnection(
  options: ResolvedNatsOptions,
): Promise<{ nc: NatsConnection; owned: boolean }> {
  if (options.connection) return { nc: options.connection, owned: false };
  const timeoutMs = options.connectOptions.timeout ?? options.connectTimeoutMs;
  try {
    // a failed connect leaves nothing open: the process can exit at once
    const nc = await releasingOnFailure(() =>
      connect({
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        // a frozen server keeps its socket open: noticed after two unanswered pings (4–6 s), not
        // the client's default 2 × 2 min, so that a cluster client moves to another server
        pingInterval: PING_INTERVAL_MS,
        maxPingOut: MAX_PINGS_OUT,
        name: 'omnibus',
        ...options.connectOptions,
        timeout: timeoutMs,
        servers: options.servers,
      }),
    );
    return { nc, owned: true };
  } catch (error) {
    throw new ConnectionError(`cannot connect: ${await explain(error, options, timeoutMs)}`, {
      backend: 'nats',
      cause: safeCause(error),
      hint: isConnectTimeout(error)
        ? `${CONNECT_HINT}; on a slow network raise connectTimeoutMs (now ${timeoutMs})`
        : CONNECT_HINT,
    });
  }
}

/**
 * Forwards connection status changes to `onStatus`, redacted, until the connection closes
 * or the returned function is called (the bus closes: an adopted connection stays open, and
 * must not keep reporting to — and holding on to — a closed bus).
 */
export function watchStatus(nc: NatsConnection, report: (status: BusStatus) => void): () => void {
  const statuses = nc.status();
  const iterator = statuses[Symbol.asyncIterator]();
  let stopped = false;
  void (async () => {
    for (;;) {
      const next = await iterator.next();
      if (next.done || stopped) return;
      const { type, ...rest } = next.value as { type: string } & Record<string, unknown>;
      // a ping answered in time is routine (one every PING_INTERVAL_MS): only a late one is news
      if (type === 'ping' && Number(rest.pendingPings ?? 0) <= 1) continue;
      const connection = type === 'disconnect' ? 'lost' : type === 'reconnect' ? 'restored' : undefined;
      report({
        type,
        detail: redact(JSON.stringify(rest, (_k, v) => (v instanceof Error ? v.message : v))),
        ...(connection ? { connection } : {}),
      });
    }
  })();
  return () => {
    stopped = true;
    // the client's status iterator has stop(); return() is the standard way to end any other
    (statuses as { stop?: () => void }).stop?.();
    void iterator.return?.();
  };
}
