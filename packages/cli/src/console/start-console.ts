import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { EventBus } from '@omnibus/core';
import { InvalidArgumentError, manage, redact } from '@omnibus/core';
import { Hono } from 'hono';
import { CommandError } from '../errors.js';
import { guard } from './guard.js';
import { Jobs } from './jobs.js';
import { apiRoutes } from './routes.js';
import { Sampler } from './sampler.js';

/** Options of {@link startConsole}. */
export interface ConsoleOptions {
  /** The bus to show and manage: your service's own (embedded) or one opened for the console. */
  readonly bus: EventBus;
  /** Address to bind (default `127.0.0.1`). Any address that is not loopback requires a token. */
  readonly host?: string;
  /** Port (default 7070; 0 picks a free one). */
  readonly port?: number;
  /**
   * The access token every request must carry: a string of at least 16 characters, `true` for a
   * random one, `false` for none (refused off loopback). Default: a random token off loopback,
   * none on loopback.
   */
  readonly token?: string | boolean;
  /** The bus's URL, shown redacted on the overview. */
  readonly busUrl?: string;
  /** How often health, rates and groups are read (default 2,000 ms; 100 to 3,600,000). */
  readonly intervalMs?: number;
  /**
   * The bus was opened for the console alone (what `omnibus console` does): the overview then
   * says its rates are the console's own, not a service's. Default false (embedded in a service).
   */
  readonly ownBus?: boolean;
}

/** A running console. */
export interface ConsoleServer {
  /** The address to open, with the token when there is one. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The access token, when one is required. */
  readonly token: string | undefined;
  /** Stops serving: ends tails, stops redrives and purges between messages, closes connections. The bus stays open. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** The page's files, read once (shipped in the package's `console/` folder, no build step). */
function loadAssets(): Record<string, { body: string; type: string }> {
  const candidates = ['../console/', '../../console/'].map((p) => new URL(p, import.meta.url));
  const dir = candidates.find((u) => {
    try {
      readFileSync(new URL('index.html', u));
      return true;
    } catch {
      return false;
    }
  });
  if (!dir) throw new CommandError('the console page is missing from @omnibus/cli (reinstall the package)');
  const read = (name: string) => readFileSync(new URL(name, dir), 'utf8');
  return {
    '/': { body: read('index.html'), type: 'text/html; charset=utf-8' },
    '/app.js': { body: read('app.js'), type: 'text/javascript; charset=utf-8' },
    '/style.css': { body: read('style.css'), type: 'text/css; charset=utf-8' },
  };
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(
        error.code === 'EADDRINUSE'
          ? new CommandError(
              `port ${port} on ${host} is in use: pass another with --port (0 picks a free one)`,
            )
          : error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND'
            ? new CommandError(`cannot bind ${host}: not an address of this machine`)
            : error,
      );
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/**
 * Serves the Omnibus console for `bus`: overview, groups with their lag, dead letters to
 * inspect, redrive and purge, and a live tail — on any backend with the management API.
 *
 * ```ts
 * import { startConsole } from '@omnibus/cli';
 * const admin = await startConsole({ bus }); // http://127.0.0.1:7070/
 * // on shutdown: await admin.close();
 * ```
 *
 * Bound to 127.0.0.1 by default. Off loopback a random token is required (it is in `url`).
 *
 * @throws ConfigError when the bus has no management API; CommandError when the port is taken.
 */
export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const { bus } = options;
  manage(bus); // no management API: fail now, not on the first page
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 7070;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new InvalidArgumentError('port must be a whole number from 0 to 65535');
  const loopback = LOOPBACK.has(host);
  if (!loopback && options.token === false)
    throw new InvalidArgumentError(`a console bound to ${host} needs an access token`, {
      hint: 'bind 127.0.0.1, or leave the token on',
    });
  const token =
    typeof options.token === 'string'
      ? options.token
      : options.token === true || (!loopback && options.token === undefined)
        ? randomBytes(24).toString('base64url')
        : undefined;
  if (token !== undefined && token.length < 16)
    throw new InvalidArgumentError('an access token needs at least 16 characters');
  const intervalMs = options.intervalMs ?? 2_000;
  if (!Number.isFinite(intervalMs) || intervalMs < 100 || intervalMs > 3_600_000)
    throw new InvalidArgumentError('intervalMs must be from 100 to 3,600,000 milliseconds');
  const assets = loadAssets();
  const closing = new AbortController();
  const sampler = new Sampler(bus, intervalMs);
  const jobs = new Jobs(() => manage(bus).deadLetters);

  // the routes need the bound port (0 picks one); a request before they exist gets a 503
  let app: Hono | undefined;
  const server = createAdaptorServer({
    fetch: (req: Request) => (app ? app.fetch(req) : new Response('starting', { status: 503 })),
    overrideGlobalObjects: false, // the user's process keeps its own Request and Response
  }) as Server;
  const address = await listen(server, port, host);
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const hosts = loopback
    ? new Set(
        [`127.0.0.1:${address.port}`, `localhost:${address.port}`, `[::1]:${address.port}`].map((h) =>
          h.toLowerCase(),
        ),
      )
    : undefined;

  app = new Hono();
  app.use('*', guard({ ...(token ? { token } : {}), ...(hosts ? { hosts } : {}), port: address.port }));
  app.route(
    '/api',
    apiRoutes({
      bus,
      url: options.busUrl === undefined ? undefined : redact(options.busUrl),
      sampler,
      jobs,
      intervalMs,
      ownBus: options.ownBus === true,
      closing: closing.signal,
    }),
  );
  for (const [path, asset] of Object.entries(assets))
    app.get(path, (c) => c.body(asset.body, 200, { 'content-type': asset.type }));
  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.all('*', (c) => c.text('not found', 404));

  await sampler.start().catch(async (error: unknown) => {
    await new Promise((resolve) => server.close(resolve));
    throw error;
  });
  let closed: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}/${token ? `?token=${encodeURIComponent(token)}` : ''}`,
    host: address.address,
    port: address.port,
    token,
    close() {
      closed ??= (async () => {
        closing.abort();
        await Promise.all([sampler.stop(), jobs.stopAll()]);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closed;
    },
  };
}
