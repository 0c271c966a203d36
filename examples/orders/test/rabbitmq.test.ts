// The main job on RabbitMQ, as a user runs it: `OMNIBUS_URL=amqp://… pnpm start` to completion.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withBroker } from '@omnibus/testing';
import { expect, it } from 'vitest';

const exampleDir = join(dirname(fileURLToPath(import.meta.url)), '..');

await withBroker('rabbitmq', (broker) => {
  it('pnpm start with OMNIBUS_URL=amqp://… places, charges and dead-letters every order, then exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: exampleDir,
      env: { ...process.env, OMNIBUS_URL: broker.url, DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += String(chunk);
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(out).toMatch(/^done: 12 orders placed, 10 charged, 2 dead-lettered; /m);
    expect(code).toBe(0);
  }, 120_000);
});
