// `omnibus console` as a user starts it: the built binary prints the address, serves the bus's
// dead letters made by another process, and stops with exit 0 on SIGINT; bad usage exits 2.
import { type EventBus, manage, silentLogger } from '@omnibus/core';
import { createEventBusFromEnv } from '@omnibus/factory';
import { uniqueName, withBroker } from '@omnibus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { omnibus, Running } from './run-cli.js';

const URL_LINE = /^omnibus console for the (\w+) bus: (http:\/\/127\.0\.0\.1:\d+\/)$/m;

it('on memory:// it serves an empty bus of its own and says so', async () => {
  const run = new Running(['--url', 'memory://', 'console', '--port', '0'], { timeoutMs: 30_000 });
  await run.waitFor(() => URL_LINE.test(run.stdout), 'the address line');
  const [, backend, url] = URL_LINE.exec(run.stdout) as RegExpExecArray;
  expect(backend).toBe('memory');
  expect(run.stderr).toContain('startConsole({ bus })');
  const overview = (await (await fetch(`${url}api/overview`)).json()) as { backend: string };
  expect(overview.backend).toBe('memory');
  run.child.kill('SIGINT');
  const done = await run.done;
  expect(done.code, done.stderr).toBe(0);
});

it('bad usage exits 2 with one line; a port in use exits 1', async () => {
  const bad = await omnibus(['--url', 'memory://', 'console', '--port', 'seventy']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/port/);
  const first = new Running(['--url', 'memory://', 'console', '--port', '0'], { timeoutMs: 30_000 });
  await first.waitFor(() => URL_LINE.test(first.stdout), 'the address line');
  const port = new URL((URL_LINE.exec(first.stdout) as RegExpExecArray)[2] as string).port;
  const taken = await omnibus(['--url', 'memory://', 'console', '--port', port]);
  expect(taken.code).toBe(1);
  expect(taken.stderr.trim()).toBe(
    `omnibus: port ${port} on 127.0.0.1 is in use: pass another with --port (0 picks a free one)`,
  );
  first.child.kill('SIGINT');
  expect((await first.done).code).toBe(0);
});

await withBroker('nats', (broker) => {
  describe('on NATS', () => {
    let bus: EventBus;
    const prefix = uniqueName('consolecli');
    beforeAll(async () => {
      bus = await createEventBusFromEnv({ env: { OMNIBUS_URL: broker.url }, logger: silentLogger });
      await bus.consume(
        `${prefix}.>`,
        () => {
          throw new Error('card declined');
        },
        { group: uniqueName('g'), maxAttempts: 1 },
      );
      await bus.publish(`${prefix}.orders`, '{"orderId":"o-1"}');
    });
    afterAll(() => bus.close());

    it('serves the dead letters another process made, with --token', async () => {
      const run = new Running(['--url', broker.url, 'console', '--port', '0', '--token'], {
        timeoutMs: 60_000,
      });
      const line = /^omnibus console for the nats bus: (http:\/\/127\.0\.0\.1:\d+\/)\?token=([\w-]+)$/m;
      await run.waitFor(() => line.test(run.stdout), 'the address line with a token');
      const [, base, token] = line.exec(run.stdout) as RegExpExecArray;
      expect((await fetch(`${base}api/dead-letters`)).status).toBe(401);
      let items: { subject: string; error: string }[] = [];
      for (let i = 0; i < 100 && items.length === 0; i++) {
        const page = await fetch(`${base}api/dead-letters?subject=${prefix}.>`, {
          headers: { authorization: `Bearer ${token}` },
        });
        items = ((await page.json()) as { items: typeof items }).items;
        if (items.length === 0) await new Promise((r) => setTimeout(r, 200));
      }
      expect(items.map((d) => [d.subject, d.error])).toEqual([[`${prefix}.orders`, 'Error: card declined']]);
      run.child.kill('SIGINT');
      const done = await run.done;
      expect(done.code, done.stderr).toBe(0);
      await manage(bus).deadLetters.purge({ subject: `${prefix}.>` });
    });
  });
});
