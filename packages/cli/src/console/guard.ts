// Who may talk to the console, checked before any route runs:
// - the Host header must name the console (a DNS-rebinding page reaches 127.0.0.1 under its own name);
// - with a token (required off loopback), every request carries it: `?token=` once (then a cookie
//   scoped to this port, the token taken out of the address bar), the cookie, or `Authorization: Bearer`;
// - a state-changing request is a same-origin POST of JSON with the console's own header, which
//   a cross-site form or fetch cannot send without a preflight the console never answers.
// Every answer carries a strict Content-Security-Policy: no inline script ever runs.
import { timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';

/** The header every state-changing request of the page carries. */
export const CONSOLE_HEADER = 'x-omnibus-console';

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** Options of {@link guard}. */
export interface GuardOptions {
  /** Required on every request when set. */
  readonly token?: string;
  /** Host header values accepted (lower case, with the port); undefined accepts any (the token guards). */
  readonly hosts?: ReadonlySet<string>;
  /** The port, naming the cookie (cookies are not scoped by port). */
  readonly port: number;
}

function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function refuse(c: Context, status: 401 | 403 | 415, message: string): Response {
  const api = c.req.path.startsWith('/api/');
  return api ? c.json({ error: { code: 'REFUSED', message } }, status) : c.text(message, status);
}

/** The console's access checks and security headers, as one middleware. */
export function guard(options: GuardOptions): MiddlewareHandler {
  const cookie = `omnibus_console_${options.port}`;
  return async (c, next) => {
    const response = await check(c, next);
    const res = response ?? c.res;
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.headers.set(name, value);
    if (c.req.path.startsWith('/api/')) res.headers.set('cache-control', 'no-store');
    return response;
  };

  async function check(c: Context, next: () => Promise<void>): Promise<Response | undefined> {
    const host = (c.req.header('host') ?? '').toLowerCase();
    if (options.hosts && !options.hosts.has(host))
      return refuse(c, 403, 'refused: this console answers only to the address it printed');
    const api = c.req.path.startsWith('/api/');
    const { token } = options;
    if (token) {
      const auth = c.req.header('authorization');
      const fromHeader = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
      const fromQuery = c.req.query('token');
      // the URL just printed wins over a cookie a previous run (another token) left on this port
      const given = fromHeader ?? fromQuery ?? getCookie(c, cookie);
      if (given === undefined || !sameSecret(given, token))
        return refuse(c, 401, 'refused: open the URL omnibus console printed (it carries the access token)');
      if (fromQuery !== undefined && c.req.method === 'GET' && !api) {
        setCookie(c, cookie, token, { httpOnly: true, sameSite: 'Strict', path: '/' });
        const url = new URL(c.req.url);
        url.searchParams.delete('token');
        // one leading slash: `//evil.example/` would be another site
        return c.redirect(`/${url.pathname.replace(/^\/+/, '')}${url.search}`, 303);
      }
    }
    if (api) {
      // Hono answers HEAD with the GET route: a HEAD tail would never be read nor closed
      if (c.req.method === 'HEAD') return refuse(c, 403, 'refused: HEAD is not served on the API');
      // any request to the API, reads too, comes from the page itself: a cross-site page may not
      // open tails or browse dead letters (a browser always says where a request comes from)
      const origin = c.req.header('origin');
      if (origin !== undefined && !sameOrigin(origin, host))
        return refuse(c, 403, 'refused: a cross-site request');
      const site = c.req.header('sec-fetch-site');
      if (site !== undefined && site !== 'same-origin' && site !== 'none')
        return refuse(c, 403, 'refused: a cross-site request');
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      if (c.req.header('sec-fetch-site') === 'none') return refuse(c, 403, 'refused: a cross-site request');
      if (c.req.header(CONSOLE_HEADER) !== '1')
        return refuse(c, 403, `refused: a state-changing request needs the ${CONSOLE_HEADER} header`);
      if (!/^application\/json\b/i.test(c.req.header('content-type') ?? ''))
        return refuse(c, 415, 'refused: send JSON (content-type: application/json)');
    }
    await next();
    return undefined;
  }
}

/** `Origin` names this console (plain or behind a TLS proxy that keeps the Host). */
function sameOrigin(origin: string, host: string): boolean {
  const o = origin.toLowerCase();
  return o === `http://${host}` || o === `https://${host}`;
}
