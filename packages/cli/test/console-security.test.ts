/// <reference lib="dom" />
// Who may use the console: the Host check (DNS rebinding), the access token (required off loopback,
// or with `token: true`), the same-origin rule for state-changing requests — from plain HTTP and
// from a hostile page in a real browser on another origin — the security headers, and no
// credential on any answer.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type EventBus, manage, silentLogger } from '@omnibus/core';
import { createMemoryBus } from '@omnibus/memory';
import { chromiumPath } from '@omnibus/testing';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, startConsole } from '../src/index.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request (fetch cannot set Host), bounded. */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, timeout: 10_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

const JSON_POST = { 'content-type': 'application/json', 'x-omnibus-console': '1' };

let bus: EventBus;
const deadLetterCount = async () =>
  (await manage(bus).deadLetters.list({ subject: 'secure.>' })).items.length;

beforeAll(async () => {
  bus = createMemoryBus({ logger: silentLogger });
  await bus.consume(
    'secure.>',
    () => {
      throw new Error('no');
    },
    { group: 'g', maxAttempts: 1 },
  );
  for (let i = 0; i < 3; i++) await bus.publish('secure.one', new TextEncoder().encode(`m${i}`));
  for (let i = 0; i < 100 && (await deadLetterCount()) < 3; i++) await new Promise((r) => setTimeout(r, 50));
});

afterAll(async () => {
  await bus.close();
});

describe('on loopback, without a token', () => {
  let server: ConsoleServer;
  let base: string;
  beforeAll(async () => {
    server = await startConsole({
      bus,
      port: 0,
      busUrl: 'redis://admin:s3cr3t-pass@127.0.0.1:6379?password=hunter2',
    });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(() => server.close());

  it('serves the page with a strict Content-Security-Policy and no token', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    expect(server.token).toBeUndefined();
    const page = await raw(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="module" src="app.js">');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    const api = await raw(`${base}/api/overview`);
    expect(api.status).toBe(200);
    expect(api.headers['cache-control']).toBe('no-store');
  });

  it('never shows a credential of the bus URL', async () => {
    const overview = await raw(`${base}/api/overview`);
    expect(overview.body).not.toContain('s3cr3t');
    expect(overview.body).not.toContain('hunter2');
    expect(JSON.parse(overview.body).url).toContain('127.0.0.1:6379');
  });

  it('refuses a request whose Host is not the console (DNS rebinding)', async () => {
    const rebound = await raw(`${base}/api/overview`, {
      headers: { host: `attacker.example:${server.port}` },
    });
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain('"backend"');
    for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`])
      expect((await raw(`${base}/api/overview`, { headers: { host } })).status).toBe(200);
  });

  it('refuses state-changing requests that are not same-origin JSON with the console header', async () => {
    const purge = JSON.stringify({ selection: { subject: 'secure.>' }, confirm: true });
    const tries: [Record<string, string>, number][] = [
      [{ 'content-type': 'application/json' }, 403], // no console header (what a cross-site fetch can send)
      [{ 'content-type': 'text/plain', 'x-omnibus-console': '1' }, 415], // a simple request
      [{ ...JSON_POST, origin: 'http://attacker.example' }, 403],
      [{ ...JSON_POST, 'sec-fetch-site': 'cross-site' }, 403],
      [{ ...JSON_POST, 'sec-fetch-site': 'same-site' }, 403],
    ];
    for (const [headers, status] of tries) {
      const answer = await raw(`${base}/api/dead-letters/purge`, { method: 'POST', headers, body: purge });
      expect(answer.status, JSON.stringify(headers)).toBe(status);
    }
    const form = await raw(`${base}/api/dead-letters/purge`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'confirm=true',
    });
    expect(form.status).toBe(403);
    expect(await deadLetterCount()).toBe(3);
  });

  it('a purge needs confirm: true; bad filters are a 400 with one line; nothing half-done', async () => {
    const unconfirmed = await raw(`${base}/api/dead-letters/purge`, {
      method: 'POST',
      headers: { ...JSON_POST, origin: base },
      body: JSON.stringify({ selection: { subject: 'secure.>' } }),
    });
    expect(unconfirmed.status).toBe(409);
    for (const body of [
      { selection: { subject: 'bad subject!' }, confirm: true },
      { selection: { refs: [] }, confirm: true },
      { selection: { since: 'yesterday-ish' }, confirm: true },
      { selection: { refs: [42] }, confirm: true },
    ]) {
      const answer = await raw(`${base}/api/dead-letters/purge`, {
        method: 'POST',
        headers: JSON_POST,
        body: JSON.stringify(body),
      });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(JSON.parse(answer.body).error.message).toMatch(/\S/);
    }
    const badRate = await raw(`${base}/api/dead-letters/redrive`, {
      method: 'POST',
      headers: JSON_POST,
      body: JSON.stringify({ selection: {}, rate: -1 }),
    });
    expect(badRate.status).toBe(400);
    expect((await raw(`${base}/api/dead-letters?since=soon`)).status).toBe(400);
    const backwards = await raw(`${base}/api/dead-letters?since=1m&until=2h`);
    expect(backwards.status).toBe(400);
    expect(JSON.parse(backwards.body).error.message).toBe('since must be before until');
    const gone = await raw(`${base}/api/dead-letters/one?ref=nope`);
    expect(JSON.parse(gone.body).error.message).toMatch(/^this dead letter is gone/);
    expect((await raw(`${base}/api/dead-letters/one?ref=nope`)).status).toBe(404);
    expect((await raw(`${base}/api/tail`)).status).toBe(400);
    expect(await deadLetterCount()).toBe(3);
  });

  it('refuses cross-site reads of the API and HEAD on it (no tail a foreign page can open)', async () => {
    const foreign: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'http://attacker.example' },
    ];
    for (const headers of foreign) {
      expect((await raw(`${base}/api/tail?pattern=%3E`, { headers })).status, JSON.stringify(headers)).toBe(
        403,
      );
      expect((await raw(`${base}/api/dead-letters`, { headers })).status, JSON.stringify(headers)).toBe(403);
    }
    expect((await raw(`${base}/api/tail?pattern=%3E`, { method: 'HEAD' })).status).toBe(403);
    // the page's own reads, an address typed in the bar, and a TLS proxy keeping the Host pass
    const own: Record<string, string>[] = [
      { 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'none' },
      { origin: `https://127.0.0.1:${server.port}` },
    ];
    for (const headers of own)
      expect((await raw(`${base}/api/overview`, { headers })).status, JSON.stringify(headers)).toBe(200);
  });

  it('a page that stops reading its tail never holds up the bus: the oldest lines are dropped', async () => {
    const req = request(`${base}/api/tail?pattern=${encodeURIComponent('stall.>')}`);
    const opened = new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
    });
    req.end();
    const res = await opened;
    expect(res.statusCode).toBe(200);
    res.pause(); // never read again
    await new Promise((r) => setTimeout(r, 200));
    const payload = new Uint8Array(4_096);
    const started = Date.now();
    for (let i = 0; i < 3_000; i++) await bus.publish('stall.x', payload);
    // 12 MB behind a paused socket: every publish still went through (memory's default overflow
    // policy blocks publishers behind a subscriber that does not read)
    expect(Date.now() - started).toBeLessThan(30_000);
    res.destroy();
  });

  it('a redrive or purge body is checked whole: a typo or a wrong type is a 400, never everything', async () => {
    const bad: [string, string][] = [
      ['{"selection":{"refs":["1"]', 'the request body must be a JSON object'],
      ['"a.one"', 'the request body must be a JSON object'],
      ['{"selection":"secure.>","confirm":true}', 'selection must be an object'],
      ['{"selection":["x"],"confirm":true}', 'selection must be an object'],
      ['{"selection":{"subjects":"secure.>"},"confirm":true}', 'unknown filter "subjects"'],
      ['{"selection":{"subject":"secure.>"},"confirm":true,"dryrun":true}', 'unknown field "dryrun"'],
      ['{"selection":{"subject":"secure.>"},"confirm":true,"dryRun":"true"}', 'dryRun must be true or false'],
      ['{"selection":{"subject":"secure.>"},"confirm":"yes"}', 'confirm must be true or false'],
      ['{"selection":{},"confirm":true}', 'select dead letters: filters or refs, or all: true'],
      ['{"confirm":true}', 'select dead letters: filters or refs, or all: true'],
      ['{"selection":{"in":"dlq.>"},"confirm":true}', 'select dead letters: filters or refs, or all: true'],
    ];
    for (const [body, message] of bad) {
      const answer = await raw(`${base}/api/dead-letters/purge`, {
        method: 'POST',
        headers: JSON_POST,
        body,
      });
      expect(answer.status, body).toBe(400);
      expect(JSON.parse(answer.body).error.message, body).toContain(message);
    }
    const allDry = await raw(`${base}/api/dead-letters/purge`, {
      method: 'POST',
      headers: JSON_POST,
      body: JSON.stringify({ selection: {}, all: true, dryRun: true }),
    });
    expect(allDry.status).toBe(202);
    const job = JSON.parse(allDry.body) as { id: string };
    let view: { state: string; dryRun: boolean } = { state: 'running', dryRun: false };
    for (let i = 0; i < 100 && view.state === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      view = JSON.parse((await raw(`${base}/api/jobs/${job.id}`)).body);
    }
    expect(view).toMatchObject({ state: 'done', dryRun: true });
    expect(await deadLetterCount()).toBe(3);
  });

  it('a hostile page on another origin cannot purge, in a real browser', async () => {
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><body>
        <form id="f" method="POST" action="${base}/api/dead-letters/purge" enctype="text/plain">
          <input name='{"selection":{"subject":"secure.>"},"confirm":true,"x":"' value='"}'>
        </form>
        <script>
          window.results = [];
          const purge = JSON.stringify({ selection: { subject: 'secure.>' }, confirm: true });
          Promise.allSettled([
            fetch('${base}/api/dead-letters/purge', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: purge }),
            fetch('${base}/api/dead-letters/purge', { method: 'POST', headers: { 'content-type': 'application/json', 'x-omnibus-console': '1' }, body: purge }),
            fetch('${base}/api/overview').then((r) => r.text()),
          ]).then((r) => { window.results = r.map((x) => x.status + ':' + (x.reason ? 'blocked' : typeof x.value)); window.done = true; });
        </script></body>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const evilPort = (evil.address() as AddressInfo).port;
    const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      // another origin (another port) pointing at the console
      await page.goto(`http://localhost:${evilPort}/`);
      await page.waitForFunction(() => (window as unknown as { done?: boolean }).done === true, undefined, {
        timeout: 10_000,
      });
      const results = await page.evaluate(() => (window as unknown as { results: string[] }).results);
      // the preflighted fetch and the read are blocked by CORS; the no-cors one (the browser may
      // block it too) gets an opaque answer at best, and the console refused it: nothing purged
      expect(results.slice(1)).toEqual(['rejected:blocked', 'rejected:blocked']);
      expect(await deadLetterCount()).toBe(3);
      await page.evaluate(() => (document.getElementById('f') as HTMLFormElement).submit());
      await page.waitForLoadState('load');
      expect(await deadLetterCount()).toBe(3);
    } finally {
      await browser.close();
      await new Promise((resolve) => evil.close(resolve));
    }
  });
});

describe('with a token', () => {
  let server: ConsoleServer;
  let base: string;
  beforeAll(async () => {
    server = await startConsole({ bus, port: 0, token: true });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(() => server.close());

  it('prints the token in the URL and refuses every request without it', async () => {
    expect(server.token).toMatch(/^[\w-]{32}$/);
    expect(server.url).toBe(`${base}/?token=${server.token}`);
    for (const path of ['/', '/app.js', '/api/overview', '/api/dead-letters', '/api/tail?pattern=x'])
      expect((await raw(`${base}${path}`)).status, path).toBe(401);
    expect((await raw(`${base}/api/overview?token=wrong-token-wrong-token`)).status).toBe(401);
    expect((await raw(`${base}/api/overview`, { headers: { authorization: 'Bearer nope' } })).status).toBe(
      401,
    );
    const purge = await raw(`${base}/api/dead-letters/purge`, {
      method: 'POST',
      headers: JSON_POST,
      body: JSON.stringify({ selection: {}, confirm: true }),
    });
    expect(purge.status).toBe(401);
    expect(await deadLetterCount()).toBe(3);
  });

  it('trades the token in the URL for an HttpOnly, SameSite=Strict cookie and drops it from the address', async () => {
    const first = await raw(`${base}/?token=${server.token}`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/');
    const cookie = String(first.headers['set-cookie']);
    expect(cookie).toContain(`omnibus_console_${server.port}=${server.token}`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const cookieHeader = cookie.split(';')[0] as string;
    expect((await raw(`${base}/api/overview`, { headers: { cookie: cookieHeader } })).status).toBe(200);
    expect(
      (await raw(`${base}/api/overview`, { headers: { authorization: `Bearer ${server.token}` } })).status,
    ).toBe(200);
  });

  it('the printed URL wins over a stale cookie; the redirect stays on this site', async () => {
    const stale = `omnibus_console_${server.port}=an-older-run-token-000000000000`;
    const first = await raw(`${base}/?token=${server.token}`, { headers: { cookie: stale } });
    expect(first.status).toBe(303);
    for (const path of ['//evil.example/x', '/\\evil.example/x', '///evil.example']) {
      const answer = await raw(`${base}${path}?token=${server.token}`);
      expect(answer.status, path).toBe(303);
      expect(answer.headers.location, path).toMatch(/^\/[^/\\]/);
    }
  });

  it('works in a browser from the printed URL', async () => {
    const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      await expect.poll(() => page.textContent('[data-testid=backend]')).toBe('memory');
      expect(page.url()).not.toContain('token');
    } finally {
      await browser.close();
    }
  });

  it('refuses to bind off loopback without a token, and a short token', async () => {
    await expect(startConsole({ bus, host: '0.0.0.0', port: 0, token: false })).rejects.toThrow(
      /needs an access token/,
    );
    await expect(startConsole({ bus, port: 0, token: 'short' })).rejects.toThrow(/at least 16/);
    await expect(startConsole({ bus, port: 70_000 })).rejects.toThrow(/port/);
    await expect(startConsole({ bus, port: server.port })).rejects.toThrow(/in use/);
  });
});
