/// <reference lib="dom" />
// The console in a real browser (Debian's Chromium driven by playwright-core) against the memory
// bus and every real broker: each page opens and shows the bus's figures; dead letters made by a
// failing handler are filtered, inspected and redriven from the page, and the handler receives
// them; hostile payloads, headers and errors render as text, bounded; a purge asks first; the tail
// is live and pausable. Screenshots go to packages/cli/.screenshots/ (the docs' come from the
// orders example's console test).
import { mkdirSync } from 'node:fs';
import { type EventBus, manage, silentLogger } from '@omnibus/core';
import { createEventBusFromEnv } from '@omnibus/factory';
import { createMemoryBus } from '@omnibus/memory';
import { type BrokerKind, chromiumPath, uniqueName, withBroker } from '@omnibus/testing';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, startConsole } from '../src/index.js';

const SHOTS = new URL('../.screenshots/', import.meta.url);
mkdirSync(SHOTS, { recursive: true });
const encode = (text: string) => new TextEncoder().encode(text);

/** What a malicious producer can put in a message: each must render as inert text. */
const HOSTILE = {
  script: '<script>window.__xss = "payload"</script>',
  header: '"><img src=x onerror="window.__xss=\'header\'">',
  error: '<img src=x onerror="window.__xss=\'error\'"><svg onload="window.__xss=\'svg\'">',
};

async function eventually<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function consoleSuite(backend: string, open: () => Promise<EventBus>): void {
  describe(`console on ${backend}`, () => {
    let bus: EventBus;
    let server: ConsoleServer;
    let browser: Browser;
    let page: Page;
    const prefix = uniqueName('console');
    const group = uniqueName('billing');
    const handled: string[] = [];
    let failing = true;
    const pageErrors: string[] = [];
    const dialogs: string[] = [];
    const ordersIds: string[] = [];
    let bigSize = 0;

    const goto = async (hash: string) => {
      await page.goto(`${server.url}#${hash}`);
    };
    const shot = (name: string) =>
      page.screenshot({ path: new URL(`${backend}-${name}.png`, SHOTS).pathname, fullPage: true });
    const noInjection = async () => {
      expect(await page.evaluate(() => (window as unknown as { __xss?: string }).__xss)).toBeUndefined();
      expect(await page.locator('main img, main script, main svg:not(.spark)').count()).toBe(0);
    };
    const countDeadLetters = async (subject: string) =>
      (await manage(bus).deadLetters.list({ subject, limit: 1_000 })).items.length;

    beforeAll(async () => {
      bus = await open();
      await bus.consume(
        `${prefix}.>`,
        async (m) => {
          if (failing) throw new Error(`declined: ${new TextDecoder().decode(m.payload.subarray(0, 120))}`);
          handled.push(m.id);
        },
        { group, maxAttempts: 1 },
      );
      for (let i = 1; i <= 3; i++) {
        const r = await bus.publish(
          `${prefix}.orders.created`,
          encode(JSON.stringify({ orderId: `o-${i}`, total: 1500 })),
        );
        ordersIds.push(r.id);
      }
      await bus.publish(`${prefix}.hostile.script`, encode(HOSTILE.script), {
        headers: { 'x-note': HOSTILE.header },
      });
      await bus.publish(`${prefix}.hostile.error`, encode(HOSTILE.error));
      await bus.publish(
        `${prefix}.hostile.binary`,
        new Uint8Array([0xff, 0xfe, 0xc3, 0x28, 0x00, 0x41, 0x80]),
      );
      await bus.publish(`${prefix}.hostile.long`, encode(`${'a-very-long-line-'.repeat(12_000)}end`));
      bigSize = Math.min(1_000_000, bus.capabilities.maxPayloadBytes - 64 * 1024);
      await bus.publish(`${prefix}.hostile.big`, encode(JSON.stringify({ blob: 'x'.repeat(bigSize - 12) })));
      const total = await eventually(
        () => countDeadLetters(`${prefix}.>`),
        (n) => n === 8,
      );
      expect(total).toBe(8);
      server = await startConsole({ bus, port: 0, intervalMs: 500 });
      browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
      page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      page.on('pageerror', (error) => pageErrors.push(error.message));
      page.on('dialog', (dialog) => {
        dialogs.push(`${dialog.type()}: ${dialog.message()}`);
        void (dialog.type() === 'confirm' ? dialog.accept() : dialog.dismiss());
      });
    }, 90_000);

    afterAll(async () => {
      await browser?.close();
      await server?.close();
      await bus?.close({ timeoutMs: 5_000 });
    }, 60_000);

    it('overview: the backend, its status and the groups', async () => {
      await goto('/overview');
      await expect.poll(() => page.textContent('[data-testid=backend]')).toBe(bus.backend);
      await expect.poll(() => page.textContent('[data-testid=health]')).toBe('connected');
      await expect.poll(() => page.textContent('#status')).toContain('connected');
      await shot('overview');
    });

    it('groups: the group with its figures and a lag chart', async () => {
      await goto('/groups');
      await page.fill('[data-testid=group-filter]', group);
      const row = page.locator(`tr[data-group="${group}"]`);
      await expect.poll(() => row.count(), { timeout: 20_000 }).toBe(1);
      expect(await page.locator('[data-testid=groups] tbody tr').count()).toBe(1);
      expect(await row.locator('svg.spark').count()).toBe(1);
      expect(await row.locator('td').nth(0).textContent()).toBe(group);
      await shot('groups');
    });

    it('dead letters: hostile payloads, headers and errors render as text, bounded', async () => {
      await goto(`/dead-letters?subject=${encodeURIComponent(`${prefix}.hostile.>`)}`);
      const rows = page.locator('[data-testid=dead-letter-row]');
      await expect.poll(() => rows.count()).toBe(5);
      await noInjection();
      const text = await page.innerText('main');
      expect(text).toContain(HOSTILE.script);
      expect(text).toContain('onerror');
      // the very long line is clipped: the page does not scroll sideways
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
      await shot('dead-letters-hostile');
      // a phone's width: the tables scroll inside themselves, the page does not
      await page.setViewportSize({ width: 390, height: 800 });
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await page.setViewportSize({ width: 1280, height: 800 });

      await rows.filter({ hasText: `${prefix}.hostile.script` }).click();
      await expect
        .poll(() => page.textContent('[data-testid=detail-subject]'))
        .toBe(`${prefix}.hostile.script`);
      expect(await page.textContent('[data-testid=payload]')).toBe(HOSTILE.script);
      expect(await page.textContent('[data-testid=headers]')).toContain(HOSTILE.header);
      expect(await page.textContent('[data-testid=detail-error]')).toContain(HOSTILE.script.slice(0, 40));
      await noInjection();

      await goto(`/dead-letters?subject=${encodeURIComponent(`${prefix}.hostile.error`)}`);
      await expect.poll(() => rows.count()).toBe(1);
      await rows.first().click();
      await expect.poll(() => page.textContent('[data-testid=detail-error]')).toContain(HOSTILE.error);
      await noInjection();

      await goto(`/dead-letters?subject=${encodeURIComponent(`${prefix}.hostile.binary`)}`);
      await expect.poll(() => rows.count()).toBe(1);
      await rows.first().click();
      await expect
        .poll(() => page.textContent('[data-testid=payload]'))
        .toMatch(/^00000000 {2}ff fe c3 28 00 41 80/);
      await page.click('[data-testid=tab-text]');
      expect(await page.textContent('[data-testid=payload]')).toContain('\uFFFD');

      await goto(`/dead-letters?subject=${encodeURIComponent(`${prefix}.hostile.big`)}`);
      await expect.poll(() => rows.count()).toBe(1);
      await rows.first().click();
      await expect
        .poll(() => page.textContent('[data-testid=payload-note]'))
        .toContain('Showing the first 64 KiB');
      expect((await page.textContent('[data-testid=payload]'))?.length).toBeLessThan(70_000);
      expect(pageErrors).toEqual([]);
      expect(dialogs).toEqual([]);
    });

    it('dead letters: a detail view with pretty JSON, then a dry run and a redrive the handler receives', async () => {
      const subject = `${prefix}.orders.created`;
      await goto(`/dead-letters?subject=${encodeURIComponent(subject)}`);
      const rows = page.locator('[data-testid=dead-letter-row]');
      await expect.poll(() => rows.count()).toBe(3);
      await shot('dead-letters');
      await rows.first().click();
      await expect.poll(() => page.textContent('[data-testid=payload]')).toContain('"orderId": "o-1"');
      expect(await page.textContent('[data-testid=detail-group]')).toBe(group);
      expect(ordersIds).toContain(await page.textContent('[data-testid=detail-id]'));
      await shot('dead-letter');

      await page.goBack();
      await expect.poll(() => rows.count()).toBe(3);
      await page.check('[data-testid=select-page]');
      await expect.poll(() => page.textContent('[data-testid=selected-count]')).toBe('3 selected');
      await page.click('[data-testid=dry-run]');
      await expect
        .poll(() => page.textContent('[data-testid=job-label]'))
        .toBe('Dry run: 3 would be redriven.');
      expect(await page.locator('[data-testid=dry-run-list] li').count()).toBe(3);
      expect(await countDeadLetters(subject)).toBe(3);
      expect(handled).toEqual([]);

      failing = false;
      await page.fill('[data-testid=rate]', '20');
      await page.click('[data-testid=redrive]');
      await expect
        .poll(() => page.textContent('[data-testid=job-label]'), { timeout: 20_000 })
        .toMatch(/^3 of 3 redriven — done in/);
      await shot('redrive');
      await eventually(
        async () => handled.length,
        (n) => n >= 3,
      );
      expect([...handled].sort()).toEqual([...ordersIds].sort());
      expect(await countDeadLetters(subject)).toBe(0);
      await expect.poll(() => rows.count()).toBe(0);
    });

    it('dead letters: purge every match, after a confirmation', async () => {
      const subject = `${prefix}.hostile.>`;
      await goto(`/dead-letters?subject=${encodeURIComponent(subject)}`);
      const rows = page.locator('[data-testid=dead-letter-row]');
      await expect.poll(() => rows.count()).toBe(5);
      await page.check('[data-testid=select-all-matching]');
      await page.click('[data-testid=purge]');
      await expect
        .poll(() => page.textContent('[data-testid=job-label]'), { timeout: 20_000 })
        .toMatch(/^5 of 5 purged — done in/);
      expect(dialogs).toEqual([
        `confirm: Delete every dead letter matching subject ${subject}? This cannot be undone.`,
      ]);
      expect(await countDeadLetters(subject)).toBe(0);
      expect(handled.length).toBe(3);
    });

    it('tail: live messages for a pattern, pausable', async () => {
      const pattern = `${prefix}.tail.>`;
      await goto(`/tail?pattern=${encodeURIComponent(`${prefix}..bad`)}`);
      await expect
        .poll(() => page.textContent('[data-testid=tail-state]'))
        .toMatch(/^refused: .*empty token/);
      await goto(`/tail?pattern=${encodeURIComponent(pattern)}`);
      await expect.poll(() => page.textContent('[data-testid=tail-state]')).toMatch(/^live/);
      await bus.publish(`${prefix}.tail.one`, encode('{"n":1}'), { headers: { 'x-evil': HOSTILE.header } });
      const rows = page.locator('[data-testid=tail-row]');
      await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(1);
      expect(await rows.first().textContent()).toContain(`${prefix}.tail.one`);
      await page.click('[data-testid=tail-pause]');
      await bus.publish(`${prefix}.tail.two`, encode('{"n":2}'));
      await expect
        .poll(() => page.textContent('[data-testid=tail-state]'), { timeout: 20_000 })
        .toContain('paused, 1 held');
      expect(await rows.count()).toBe(1);
      await shot('tail');
      await page.click('[data-testid=tail-pause]');
      await expect.poll(() => rows.count()).toBe(2);
      expect(await rows.first().textContent()).toContain(`${prefix}.tail.two`);
      await noInjection();
      expect(pageErrors).toEqual([]);
    });
  });
}

consoleSuite('memory', async () => createMemoryBus({ logger: silentLogger }));

const REAL: readonly BrokerKind[] = ['nats', 'redis', 'kafka'];
for (const kind of REAL) {
  await withBroker(kind, (broker) => {
    const url = broker.kind === 'redis' ? `${broker.url}?keyPrefix=${uniqueName('console')}` : broker.url;
    consoleSuite(kind, () => createEventBusFromEnv({ env: { OMNIBUS_URL: url }, logger: silentLogger }));
  });
}
