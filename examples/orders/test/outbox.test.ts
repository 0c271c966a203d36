// `pnpm outbox` as a user runs it: on the memory bus and on NATS, against the local PostgreSQL.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx/cli');

function run(url: string): { status: number | null; out: string } {
  const child = spawnSync(process.execPath, [tsx, 'src/outbox.ts'], {
    cwd: join(here, '..'),
    env: { ...process.env, OMNIBUS_URL: url },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: child.status, out: `${child.stdout}${child.stderr}` };
}

describe('the outbox variant (pnpm outbox)', () => {
  for (const url of ['memory://', process.env.NATS_URL ?? 'nats://127.0.0.1:4222']) {
    it(`saves row and event together, publishes nothing for the refused order, charges once — ${url}`, () => {
      const { status, out } = run(url);
      expect(out).toMatch(/service {3}saved {4}ob-\S+-1 {2}row and event committed together/);
      expect(out).toMatch(/service {3}refused {2}ob-\S+-2 {2}rolled back, no event: .*check constraint/);
      expect(out).toMatch(/billing {3}charged {2}ob-\S+-3 {2}12\.50/);
      expect(out).not.toMatch(/charged {2}ob-\S+-2/);
      expect(out).toContain(
        'done: 2 orders saved, 2 charged, 1 refused (never published); relay forwarded 2',
      );
      expect(status).toBe(0);
    });
  }
});
