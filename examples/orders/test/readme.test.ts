// The README's snippets, run as a user runs them: extracted from README.md, written to a file in
// this package (so `@omnibus/*` resolve as in an app) and run with tsx in a child process, with
// OMNIBUS_URL pointing at each backend. The quick start must print its line on every run — a
// second run meets the durable state the first left behind.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEventBus, type EventBusConfig, parseOmnibusUrl } from '@omnibus/factory';
import { readmeSnippet, withBroker } from '@omnibus/testing';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, '..', '..', '..', 'README.md'), 'utf8');
const runDir = join(here, '..', '.readme-run');
const tsx = createRequire(import.meta.url).resolve('tsx/cli');

const snippet = (name: string) => readmeSnippet(readme, name);

/**
 * Runs a snippet file with OMNIBUS_URL = `url` and collects its output. With `sigintAfter`, the
 * child gets a SIGINT half a second after that text appears (still running then: Ctrl-C).
 */
function run(file: string, url: string, sigintAfter?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsx, file], {
      cwd: join(here, '..'),
      env: { ...process.env, OMNIBUS_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let signalled = false;
    const collect = (d: Buffer) => {
      out += d;
      if (sigintAfter !== undefined && !signalled && out.includes(sigintAfter)) {
        signalled = true;
        setTimeout(() => child.kill('SIGINT'), 500);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

mkdirSync(runDir, { recursive: true });
const files = {
  quickstart: join(runDir, 'quickstart.ts'),
  typed: join(runDir, 'typed-events.ts'),
  service: join(runDir, 'service.ts'),
  deadLetters: join(runDir, 'dead-letters.ts'),
};
writeFileSync(files.quickstart, snippet('quickstart'));
writeFileSync(files.typed, snippet('typed-events'));
writeFileSync(files.service, snippet('service'));
writeFileSync(files.deadLetters, snippet('dead-letters'));

function snippetTests(url: string): void {
  it('the quick start prints `charging o-1 (attempt 1)` on a first and on a second run, whatever was published between', async () => {
    for (const pass of [1, 2]) {
      const { code, out } = await run(files.quickstart, url);
      expect(out, `run ${pass}`).toBe('charging o-1 (attempt 1)\n');
      expect(code).toBe(0);
      // another service's traffic on the same subjects while the snippet is not running
      const { backend, options } = parseOmnibusUrl(url);
      const other = await createEventBus({ backend, ...options } as EventBusConfig);
      await other.publish('orders.us.created', JSON.stringify({ id: 'not-an-order-of-the-snippet' }));
      await other.close();
    }
  }, 240_000);

  it('the service snippet stays up until SIGINT, then closes and prints its stats', async () => {
    const { code, out } = await run(files.service, url, 'up;');
    expect(out).toMatch(/^up; Ctrl-C stops it\nstopped: delivered \d+, acked \d+, dead-lettered 0\n$/);
    expect(code).toBe(0);
  }, 90_000);

  it('the dead-letters snippet dead-letters an invoice, redrives it once the fix is in, and it is billed at attempt 1', async () => {
    const { code, out } = await run(files.deadLetters, url);
    // the handler may run before redrive resolves (in-process), and the dead letter's warn goes to stderr
    const lines = out.split('\n');
    expect(lines).toContain('redriven: 1');
    expect(lines).toContain('billed INV-1 (attempt 1, redrive 1)');
    expect(out).toMatch(/^dead letter [\w-]+: Error: tax service unreachable$/m);
    // Kafka commits every 50 ms: right after the handler the lag may still count the message
    expect(out).toMatch(/^billing group: lag (\d+|–)$/m);
    expect(code).toBe(0);
  }, 120_000);

  it('the typed-events snippet bills the order', async () => {
    const { code, out } = await run(files.typed, url);
    expect(out).toBe('billing o-1: 20\n');
    expect(code).toBe(0);
  }, 120_000);
}

/** The ```text block after `marker` (the first line that starts with it). */
function textBlockAfter(marker: string): string {
  const at = readme.indexOf(marker);
  if (at === -1) throw new Error(`README.md has no line starting "${marker}"`);
  const match = /```text\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!match) throw new Error(`README.md: no text block after "${marker}"`);
  return match[1] as string;
}

describe('README: Testing your service', () => {
  const testing = join(runDir, 'harness', 'testing.test.ts');
  mkdirSync(dirname(testing), { recursive: true });
  writeFileSync(testing, snippet('testing'));

  it('the testing snippet passes under vitest, as a user runs it', async () => {
    const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [vitest, 'run', '--root', dirname(testing)], {
        cwd: join(here, '..'),
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (d: Buffer) => {
        text += d;
      });
      child.stderr.on('data', (d: Buffer) => {
        text += d;
      });
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, out: text }));
    });
    expect(out).toMatch(/Tests +2 passed \(2\)/);
    expect(code).toBe(0);
  }, 120_000);

  it('the failure it shows is the one the harness prints', async () => {
    const { defineEvent } = await import('@omnibus/core');
    const { createMemoryBus } = await import('@omnibus/memory');
    const { createHarness } = await import('@omnibus/harness');
    const { z } = await import('zod');
    const OrderPlaced = defineEvent('orders.placed', z.object({ orderId: z.string(), total: z.number() }));
    const bus = createMemoryBus();
    const harness = createHarness(bus);
    await OrderPlaced.publish(bus, { orderId: 'o-1', total: 20 });
    await bus.publish('billing.charged', JSON.stringify({ orderId: 'o-1' }));
    const error = await harness
      .published('billing.charged', { where: { orderId: 'o-3' } })
      .catch((e: unknown) => e);
    expect(`${String(error)}\n`).toBe(textBlockAfter('A query that finds nothing fails'));
    await bus.close();
  }, 10_000);
});

describe('README snippets on memory', () => snippetTests('memory://'));
for (const kind of ['nats', 'redis', 'kafka'] as const) {
  await withBroker(kind, (broker) => {
    describe(`README snippets on ${kind}`, () => snippetTests(broker.url));
  });
}
