import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalServer, startLocalServer } from '@omnibus/testing';
import { Redis } from 'ioredis';

/** A redis-server this test started on a spare port; stopped only by its own PID. */
export interface LocalRedisServer extends LocalServer {
  readonly url: string;
}

/** Starts `redis-server` on 127.0.0.1 and a spare port with a temporary directory (`aof`: append-only file, fsync always). */
export async function startRedisServer(
  options: { aof?: boolean; args?: string[] } = {},
): Promise<LocalRedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'omnibus-redis-'));
  const server = await startLocalServer({
    name: 'redis-server',
    binaries: [
      '/usr/sbin/redis-server',
      '/usr/local/bin/redis-server',
      '/usr/bin/redis-server',
      'redis-server',
    ],
    args: (port) => [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--dir',
      dir,
      '--save',
      '',
      ...(options.aof ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
      ...(options.args ?? []),
    ],
  });
  return {
    port: server.port,
    url: `redis://127.0.0.1:${server.port}`,
    get pid() {
      return server.pid;
    },
    kill: () => server.kill(),
    pause: (paused) => server.pause(paused),
    restart: () => server.restart(),
    async dispose() {
      await server.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Deletes every key of a bus prefix (test clean-up). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
  await client.quit();
}
