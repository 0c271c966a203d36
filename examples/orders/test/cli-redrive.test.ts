// The README's walk-through, as a user runs it on Redis (a key prefix of its own): the demo
// dead-letters the orders over the payment limit; `omnibus dlq list` shows them; `omnibus dlq
// redrive` sends them back; `pnpm billing` with the limit raised charges them at attempt 1,
// marked as redriven once; `omnibus dlq list` is empty.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@omnibus/core';
import { createEventBusFromEnv } from '@omnibus/factory';
import { uniqueName, withBroker } from '@omnibus/testing';
import { describe, expect, it } from 'vitest';
import { demoOrders, runOrdersDemo } from '../src/run.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const omnibusBin = join(dirname(require.resolve('@omnibus/cli/package.json')), 'dist', 'bin.js');
const tsx = require.resolve('tsx/cli');

interface Run {
  code: number | null;
  out: string;
}

/** Runs `node args…` in the example's folder; with `until`, sends SIGINT once `until(out)` holds. */
function run(args: string[], env: Record<string, string>, until?: (out: string) => boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: join(here, '..'),
      env: { ...process.env, ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let signalled = false;
    const collect = (d: Buffer) => {
      out += d;
      if (until && !signalled && until(out)) {
        signalled = true;
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

await withBroker('redis', (broker) => {
  describe('README walk-through: the orders example dead letters, redriven with the CLI (Redis)', () => {
    it('dlq list shows them, dlq redrive sends them back, billing charges them as redriven, dlq list is empty', async () => {
      const url = `${broker.url}?keyPrefix=${uniqueName('orders-cli')}`;
      const env = { OMNIBUS_URL: url };
      const bus = await createEventBusFromEnv({ env, logger: silentLogger });
      const orders = demoOrders(10, 'w');
      const summary = await runOrdersDemo(bus, () => {}, orders);
      await bus.close();
      const overLimit = orders.filter((o) => o.total > 1000).map((o) => o.orderId);
      expect(summary.deadLettered).toBe(overLimit.length);
      expect(overLimit.length).toBeGreaterThan(0);

      const listed = await run([omnibusBin, 'dlq', 'list', '--json'], env);
      expect(listed.code).toBe(0);
      const items = listed.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: string; group: string; attempts: number; redriveCount: number });
      expect(items.map((d) => d.id).sort()).toEqual([...overLimit].sort());
      expect(items.every((d) => d.group === 'billing' && d.attempts === 3 && d.redriveCount === 0)).toBe(
        true,
      );

      const redrive = await run([omnibusBin, 'dlq', 'redrive', '--subject', 'orders.>', '--rate', '50'], env);
      expect(redrive.out).toMatch(
        new RegExp(`redrove ${overLimit.length} dead letters? to their original subjects`),
      );
      expect(redrive.code).toBe(0);

      const charged = (out: string) =>
        overLimit.every((id) => new RegExp(`charged +${id} +by worker-a, attempt 1, redrive 1`).test(out));
      const billing = await run([tsx, 'src/billing.ts'], { ...env, BILLING_LIMIT: '10000' }, charged);
      expect(charged(billing.out), billing.out).toBe(true);
      expect(billing.out).toMatch(/^stopped: delivered \d+, acked \d+, dead-lettered 0$/m);
      expect(billing.code).toBe(0);

      const after = await run([omnibusBin, 'dlq', 'list'], env);
      expect(after.out).toContain('no dead letters');
      expect(after.code).toBe(0);
    }, 120_000);
  });
});
