import { silentLogger } from '@omnibus/core';
import { runConformanceSuite, withBroker } from '@omnibus/testing';
import { afterAll } from 'vitest';
import { createRedisBus } from '../src/index.js';
import { deleteKeys } from './redis-server.js';

await withBroker('redis', async (broker) => {
  // a key prefix per run: tests on a shared server never see each other's streams
  const keyPrefix = `omnibus-test-${process.pid}-${Date.now().toString(36)}`;
  afterAll(() => deleteKeys(broker.url, keyPrefix));
  await runConformanceSuite({
    name: 'redis',
    createBus: () => createRedisBus({ url: broker.url, keyPrefix, logger: silentLogger }),
  });
});
