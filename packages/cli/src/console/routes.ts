// The console's JSON API and the tail's event stream, on the management API of one bus. Every
// answer is built by ./views (bounded, redacted); every failure is `{ error: { code, message } }`
// with one redacted line.
import type { EventBus } from '@omnibus/core';
import { InvalidArgumentError, isOmnibusError, manage, redact } from '@omnibus/core';
import { type Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { CommandError, errorLine } from '../errors.js';
import type { JobRequest, Jobs } from './jobs.js';
import type { Sampler } from './sampler.js';
import { numberIn, readJobBody, readSelection } from './selection.js';
import { deadLetterDetail, deadLetterRow, tailRow } from './views.js';

/** Live tails at most, across every open page. */
const MAX_TAILS = 8;
/** Lines a tail holds for a page that reads slowly; beyond, the oldest are dropped (and counted). */
const MAX_QUEUED = 1_000;

/** What the routes need. */
export interface RoutesContext {
  readonly bus: EventBus;
  /** The bus's URL, redacted, when known (shown on the overview). */
  readonly url: string | undefined;
  readonly sampler: Sampler;
  readonly jobs: Jobs;
  readonly intervalMs: number;
  /** The bus was opened for the console alone (`omnibus console`). */
  readonly ownBus: boolean;
  /** Aborted when the console closes: ends every tail. */
  readonly closing: AbortSignal;
}

function status(error: unknown): 400 | 409 | 500 | 503 {
  if (!isOmnibusError(error)) return 500;
  const { code } = error as { code: string };
  if (code === 'INVALID_SUBJECT' || code === 'INVALID_ARGUMENT') return 400;
  if (code === 'BUS_CLOSED') return 503;
  return 500;
}

/** One line for the page: the bus's own message and hint (no class name or code in front), redacted. */
function message(error: unknown): string {
  if (!isOmnibusError(error)) return errorLine(error);
  const { message: text, hint } = error as { message: string; hint?: string };
  return redact(`${text.replace(/^\[omnibus\]\s*/, '')}${hint ? ` (${hint})` : ''}`).replace(
    /\s*[\r\n]+\s*/g,
    ' ',
  );
}

function failure(c: Context, error: unknown): Response {
  const code = isOmnibusError(error) ? (error as { code: string }).code : 'ERROR';
  return c.json({ error: { code, message: message(error) } }, status(error));
}

/** The JSON object a POST carries; anything else is a 400, never an empty (everything) selection. */
async function body(c: Context): Promise<Record<string, unknown>> {
  const value: unknown = await c.req.json().catch(() => undefined);
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InvalidArgumentError('the request body must be a JSON object');
  return value as Record<string, unknown>;
}

/** The `/api/*` routes. */
export function apiRoutes(ctx: RoutesContext): Hono {
  const api = new Hono();
  const { bus, sampler, jobs } = ctx;
  let tails = 0;

  api.onError((error, c) => failure(c, error));

  const startJob = (c: Context, request: JobRequest) => {
    try {
      return c.json(jobs.start(request), 202);
    } catch (error) {
      if (error instanceof CommandError)
        return c.json({ error: { code: 'BUSY', message: error.message } }, 429);
      throw error;
    }
  };

  api.get('/overview', async (c) => {
    const s = await sampler.latest();
    // the total of the groups that report the figure, and how many do not: a group whose broker
    // cannot tell its lag is never counted as 0
    const sum = (k: 'lag' | 'pending') =>
      s.groups.some((g) => g[k] !== undefined) ? s.groups.reduce((n, g) => n + (g[k] ?? 0), 0) : undefined;
    const unknown = (k: 'lag' | 'pending') => s.groups.filter((g) => g[k] === undefined).length;
    return c.json({
      backend: bus.backend,
      url: ctx.url ?? null,
      capabilities: bus.capabilities,
      health: s.health ?? null,
      stats: s.stats,
      rates: s.rates,
      groups: {
        count: s.groups.length,
        lag: sum('lag') ?? null,
        pending: sum('pending') ?? null,
        lagUnknown: unknown('lag'),
        pendingUnknown: unknown('pending'),
      },
      groupsError: s.groupsError ?? null,
      at: s.at,
      intervalMs: ctx.intervalMs,
      ownBus: ctx.ownBus,
    });
  });

  api.get('/groups', async (c) => {
    const s = await sampler.latest();
    return c.json({ groups: s.groups, error: s.groupsError ?? null, at: s.at, intervalMs: ctx.intervalMs });
  });

  api.get('/dead-letters', async (c) => {
    const query = c.req.query();
    const selection = readSelection(query);
    const limit = numberIn(query.limit, 'limit', 1, 1_000, 50);
    const page = await manage(bus).deadLetters.list({
      ...selection,
      limit,
      ...(query.after ? { after: query.after } : {}),
    });
    return c.json({ items: page.items.map(deadLetterRow), next: page.next ?? null });
  });

  api.get('/dead-letters/one', async (c) => {
    const ref = c.req.query('ref');
    if (!ref) return c.json({ error: { code: 'INVALID_ARGUMENT', message: 'ref is missing' } }, 400);
    const where = c.req.query('in');
    const dl = await manage(bus).deadLetters.show(ref, where ? { in: where } : undefined);
    if (!dl)
      return c.json(
        {
          error: {
            code: 'NOT_FOUND',
            message: 'this dead letter is gone: redriven or purged since (or never here)',
          },
        },
        404,
      );
    return c.json(deadLetterDetail(dl));
  });

  api.post('/dead-letters/redrive', async (c) => {
    const b = readJobBody(await body(c), ['rate']);
    const rate = numberIn(b.rate, 'rate', 0, 1_000_000, 0);
    return startJob(c, { kind: 'redrive', selection: b.selection, rate, dryRun: b.dryRun });
  });

  api.post('/dead-letters/purge', async (c) => {
    const b = readJobBody(await body(c), ['confirm']);
    if (!b.dryRun && b.confirm !== true)
      return c.json({ error: { code: 'NOT_CONFIRMED', message: 'a purge needs confirm: true' } }, 409);
    return startJob(c, { kind: 'purge', selection: b.selection, rate: 0, dryRun: b.dryRun });
  });

  api.get('/jobs/:id', (c) => {
    const view = jobs.get(c.req.param('id'));
    return view ? c.json(view) : c.json({ error: { code: 'NOT_FOUND', message: 'no such job' } }, 404);
  });

  api.post('/jobs/:id/stop', (c) => {
    const view = jobs.stop(c.req.param('id'));
    return view ? c.json(view) : c.json({ error: { code: 'NOT_FOUND', message: 'no such job' } }, 404);
  });

  // Live messages for a pattern: an ungrouped subscription (it takes nothing from any group),
  // ended when the page goes away or the console closes.
  api.get('/tail', async (c) => {
    const pattern = c.req.query('pattern')?.trim();
    if (!pattern)
      return c.json(
        { error: { code: 'INVALID_ARGUMENT', message: 'pattern is missing (e.g. orders.>)' } },
        400,
      );
    if (tails >= MAX_TAILS)
      return c.json({ error: { code: 'BUSY', message: `${MAX_TAILS} tails are open: close one` } }, 429);
    tails++; // counted before the subscribe: a burst cannot open more than MAX_TAILS
    const stop = new AbortController();
    const onClose = () => stop.abort();
    ctx.closing.addEventListener('abort', onClose, { once: true });
    const release = () => {
      tails--;
      ctx.closing.removeEventListener('abort', onClose);
      stop.abort();
    };
    let sub: Awaited<ReturnType<EventBus['subscribe']>>;
    try {
      sub = await bus.subscribe(pattern, { from: 'new', signal: stop.signal });
    } catch (error) {
      release();
      return failure(c, error);
    }
    // The subscription is read at once into a bounded queue and the page is written from it: a
    // slow or stalled page drops the oldest lines (and is told how many), it never holds up the bus.
    const queue: string[] = [];
    let dropped = 0;
    let ended = false;
    let wake: (() => void) | undefined;
    const reading = (async () => {
      try {
        for await (const m of sub) {
          if (queue.length >= MAX_QUEUED) {
            queue.shift();
            dropped++;
          }
          queue.push(JSON.stringify(tailRow(m)));
          wake?.();
        }
      } finally {
        ended = true;
        wake?.();
      }
    })();
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => {
        stop.abort();
        wake?.();
      });
      try {
        await stream.writeSSE({ event: 'ready', data: JSON.stringify({ pattern }) });
        while (!stream.aborted && !stop.signal.aborted) {
          const data = queue.shift();
          if (data === undefined) {
            if (ended) break;
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            wake = undefined;
            continue;
          }
          if (dropped > 0) {
            await stream.writeSSE({ event: 'dropped', data: String(dropped) });
            dropped = 0;
          }
          await stream.writeSSE({ event: 'message', data });
        }
      } finally {
        release();
        await sub.close().catch(() => undefined);
        await reading.catch(() => undefined);
      }
    });
  });

  api.all('*', (c) => c.json({ error: { code: 'NOT_FOUND', message: 'no such API' } }, 404));
  return api;
}
