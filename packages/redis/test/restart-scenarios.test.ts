// The broker restart and pause scenarios of the conformance kit, on a redis-server this file starts
// itself (append-only file, fsync always: a restart keeps what was acknowledged) and breaks with
// its own commands: SIGKILL and start again; SIGSTOP, then SIGCONT.
import { silentLogger } from '@omnibus/core';
import { runRestartScenarios, startLocalRedis, uniquePrefix } from '@omnibus/testing';
import { afterAll } from 'vitest';
import { createRedisBus } from '../src/index.js';

const redis = await startLocalRedis({ aof: true });
afterAll(() => redis.dispose());

runRestartScenarios({
  name: 'redis',
  createBus: () =>
    createRedisBus({
      url: redis.url,
      keyPrefix: uniquePrefix(),
      publishTimeoutMs: 1_000,
      logger: silentLogger,
    }),
  restart: async () => {
    await redis.kill();
    await redis.restart();
  },
  pause: () => redis.pause(true),
  resume: () => redis.pause(false),
  pauseMs: 7_000, // past the adapter's 3 s unresponsiveness and its 6 s blocking-read limit
  timeoutMs: 30_000,
});
