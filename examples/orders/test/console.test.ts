/// <reference lib="dom" />
// The README's console walk-through, as a user runs it: `pnpm console` (the demo on the in-memory
// bus, then the console in the same process); in Chromium the two orders over the payment limit
// are found on the dead-letter page, inspected, previewed and redriven; the billing workers (the
// fix deployed) charge them as redriven once, and the tail page shows them go by. The screenshots
// in docs/console/ are taken here (`npx pnpm screenshots` runs this file alone).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumPath } from '@omnibus/testing';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx/cli');
const SHOTS = join(here, '..', '..', '..', 'docs', 'console');
mkdirSync(SHOTS, { recursive: true });

describe('README: the orders example dead letters, found and redriven in the console', () => {
  let child: ChildProcess;
  let out = '';
  let url = '';
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const dialogs: string[] = [];
  const shot = (p: Page, name: string) => p.screenshot({ path: join(SHOTS, `${name}.png`) });

  beforeAll(async () => {
    child = spawn(process.execPath, [tsx, 'src/console.ts'], {
      cwd: join(here, '..'),
      env: { ...process.env, OMNIBUS_URL: undefined, OMNIBUS_CONSOLE_PORT: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
    });
    child.stderr?.on('data', (d: Buffer) => {
      out += d;
    });
    for (let i = 0; i < 300 && !url; i++) {
      url = /^console: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out)?.[1] ?? '';
      if (!url) await new Promise((r) => setTimeout(r, 100));
    }
    expect(url, out).not.toBe('');
    browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    }
  });

  it('overview and groups show the demo’s bus', async () => {
    await page.goto(`${url}#/overview`);
    await expect.poll(() => page.textContent('[data-testid=backend]')).toBe('memory');
    await expect.poll(() => page.textContent('[data-testid=health]')).toBe('connected');
    await shot(page, 'overview');
    await page.goto(`${url}#/groups`);
    await expect.poll(() => page.locator('tr[data-group=billing]').count()).toBe(1);
    expect(await page.locator('tr[data-group=billing] td').nth(1).textContent()).toBe('orders.*.created');
    await shot(page, 'groups');
  });

  it('the two orders over the limit are on the dead-letter page, with the error and the order', async () => {
    await page.goto(`${url}#/dead-letters?error=${encodeURIComponent('total over limit')}`);
    const rows = page.locator('[data-testid=dead-letter-row]');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.first().textContent()).toMatch(
      /payment refused for order-\w+-(5|10): total over limit/,
    );
    await shot(page, 'dead-letters');
    await rows.first().click();
    await expect.poll(() => page.textContent('[data-testid=payload]')).toContain('"total": 1500');
    expect(await page.textContent('[data-testid=detail-error]')).toMatch(/^Error: payment refused/);
    expect(await page.textContent('[data-testid=detail-group]')).toBe('billing');
    await shot(page, 'dead-letter');
  });

  it('a dry run, then a redrive: billing charges both as redriven once, the tail shows them', async () => {
    const tail = await browser.newPage({ viewport: { width: 1280, height: 420 } });
    await tail.goto(`${url}#/tail?pattern=${encodeURIComponent('orders.>')}`);
    await expect.poll(() => tail.textContent('[data-testid=tail-state]')).toMatch(/^live/);

    await page.goto(`${url}#/dead-letters?error=${encodeURIComponent('total over limit')}`);
    await expect.poll(() => page.locator('[data-testid=dead-letter-row]').count()).toBe(2);
    await page.check('[data-testid=select-all-matching]');
    await page.click('[data-testid=dry-run]');
    await expect
      .poll(() => page.textContent('[data-testid=job-label]'))
      .toBe('Dry run: 2 would be redriven.');
    await page.fill('[data-testid=rate]', '10');
    await page.click('[data-testid=redrive]');
    await expect
      .poll(() => page.textContent('[data-testid=job-label]'), { timeout: 20_000 })
      .toMatch(/^2 of 2 redriven — done in/);
    expect(dialogs).toEqual([
      'Redrive every dead letter matching error total over limit to their original subjects?',
    ]);
    await shot(page, 'redrive');
    await expect
      .poll(() => out.match(/billing +charged +order-\S+ +by worker-\w, attempt 1, redrive 1/g)?.length ?? 0)
      .toBe(2);
    await expect.poll(() => tail.locator('[data-testid=tail-row]').count()).toBe(2);
    expect(await tail.locator('[data-testid=tail-row]').first().textContent()).toContain(
      'omnibus-redrive-count=1',
    );
    await shot(tail, 'tail');
    await tail.close();
    await page.reload();
    await expect.poll(() => page.locator('[data-testid=dead-letter-row]').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
