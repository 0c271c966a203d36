import type { BusHealth, EventBus } from '@omnibus/core';

/**
 * What the health helpers ask: anything with `health(timeoutMs)` in the buses' shape — a bus, or
 * an outbox relay (`startRelay` from `@omnibus/outbox`).
 */
export type HealthSource = Pick<EventBus, 'health'>;

/** The part of a `node:http` request the handler reads (typed here: no `@types/node` needed). */
export interface HealthRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
}

/** The part of a `node:http` response the handler writes. */
export interface HealthResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body?: string): unknown;
  /** Set by `node:http` once the status line went out. */
  readonly headersSent?: boolean | undefined;
  /** Set by `node:http` once the response was ended. */
  readonly writableEnded?: boolean | undefined;
}

/** An answer for a health endpoint: the HTTP status and a JSON body. */
export interface HealthAnswer {
  readonly status: 200 | 503;
  readonly body: {
    readonly status: 'ok' | 'unavailable';
    readonly backend: string;
    readonly state: BusHealth['state'];
    readonly connectionLost: boolean;
    readonly latencyMs?: number;
    readonly detail?: string;
  };
}

function answer(health: BusHealth, ok: boolean): HealthAnswer {
  return {
    status: ok ? 200 : 503,
    body: {
      status: ok ? 'ok' : 'unavailable',
      backend: health.backend,
      state: health.state,
      connectionLost: health.connectionLost,
      ...(health.latencyMs === undefined ? {} : { latencyMs: health.latencyMs }),
      ...(health.detail === undefined ? {} : { detail: health.detail }),
    },
  };
}

/**
 * Readiness: can the bus work now? `bus.health()` asks the backend (bounded by `timeoutMs`,
 * default 2,000): 200 when it answered and the bus has not reported its connection lost, 503
 * with the (redacted) reason otherwise. Take the
 * instance out of the load balancer on 503; do not restart it — the bus reconnects by itself.
 */
export async function readiness(bus: HealthSource, timeoutMs = 2_000): Promise<HealthAnswer> {
  const health = await bus.health(timeoutMs);
  // a probe that answers does not outweigh a connection the bus itself reported lost
  return answer(health, health.ok && !health.connectionLost);
}

/**
 * Liveness: is the bus still usable at all? 503 only once it is closing or closed (a restart is
 * the remedy then); a backend that is away is a readiness matter, not a liveness one.
 */
export async function liveness(bus: HealthSource): Promise<HealthAnswer> {
  // no request to the broker: a probe every few seconds from every instance is load for nothing
  const health = await bus.health(0);
  return answer(health, health.state === 'open');
}

/**
 * A `node:http` request handler (also an Express / Connect middleware) answering
 * `GET <prefix>/livez` and `GET <prefix>/readyz` with JSON (`HEAD` too, without a body); another
 * method on those paths gets 405, any other path 404 (or is passed to `next` when there is one).
 *
 * ```ts
 * http.createServer(healthHandler(bus)).listen(8080);
 * ```
 */
export function healthHandler(
  bus: HealthSource,
  options: { prefix?: string; timeoutMs?: number } = {},
): (req: HealthRequest, res: HealthResponse, next?: () => void) => void {
  const prefix = options.prefix ?? '';
  const send = (
    res: HealthResponse,
    status: number,
    body: string,
    head: boolean,
    extra: Record<string, string> = {},
  ) => {
    // answered already (a framework's timeout did), or the client went away: nothing to send,
    // and nothing may throw out of here (it would be an unhandled rejection, which ends the process)
    if (res.headersSent || res.writableEnded) return;
    try {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...extra });
      res.end(head ? undefined : body);
    } catch {
      // the response is unusable: the request is over either way
    }
  };
  return (req, res, next) => {
    const path = (req.url ?? '').split('?')[0];
    const probe = path === `${prefix}/livez` ? 'live' : path === `${prefix}/readyz` ? 'ready' : undefined;
    if (!probe) {
      if (next) return next();
      send(res, 404, '{"status":"not found"}', req.method === 'HEAD');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, '{"status":"method not allowed"}', false, { allow: 'GET, HEAD' });
      return;
    }
    const head = req.method === 'HEAD';
    (probe === 'live' ? liveness(bus) : readiness(bus, options.timeoutMs))
      .then(
        ({ status, body }) => send(res, status, JSON.stringify(body), head),
        () => send(res, 503, '{"status":"unavailable"}', head),
      )
      .catch(() => undefined);
  };
}
