import { PublishError } from '@omnibus/core';
import { uniqueName, uniquePrefix } from '@omnibus/testing';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createRedisBus } from '../src/index.js';
import { startRedisServer } from './redis-server.js';

/** The Omnibus ids stored in a stream key, in stream order (field `i`). */
async function storedIds(client: Redis, key: string): Promise<string[]> {
  const entries = await client.xrange(key, '-', '+');
  return entries.map(([, fields]) => fields[fields.indexOf('i') + 1] as string);
}

describe('publishBatch with a failure in the middle', () => {
  it('accepted is the stored prefix, the later entries are reported maybe stored, the failed one is not half-sent, order is kept', async () => {
    const server = await startRedisServer();
    const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    const keyPrefix = uniquePrefix();
    const bus = await createRedisBus({ url: server.url, keyPrefix });
    try {
      const ok = `${uniqueName('ok')}.x`;
      const bad = `${uniqueName('bad')}.x`;
      // the stream key of `bad` holds a string: that entry's XADD fails, and only that one
      await client.set(`{${keyPrefix}}:s:${bad}`, 'not a stream');
      const entries = [
        { subject: ok, payload: 'a0', id: uniqueName('e0') },
        { subject: ok, payload: 'a1', id: uniqueName('e1') },
        { subject: bad, payload: 'b2', id: uniqueName('e2') },
        { subject: ok, payload: 'a3', id: uniqueName('e3') },
        { subject: ok, payload: 'a4', id: uniqueName('e4') },
      ];
      const error = await bus.publishBatch(entries).catch((e) => e);
      expect(error).toBeInstanceOf(PublishError);
      expect(error.message).toContain('failed at entry 2 of 5');
      expect(error.cause.cause.message).toContain('WRONGTYPE');
      expect(error.accepted.map((r: { id: string }) => r.id)).toEqual([entries[0]?.id, entries[1]?.id]);
      // the pipeline went on after the failed script: entries 3 and 4 are stored, and reported so
      expect(error.maybeStored).toEqual([2, 3, 4]);
      // read back: the subject holds 0, 1, 3, 4 in batch order; the failed entry left nothing behind
      expect(await storedIds(client, `{${keyPrefix}}:s:${ok}`)).toEqual(
        [0, 1, 3, 4].map((i) => entries[i]?.id),
      );
      expect(await client.get(`{${keyPrefix}}:s:${bad}`)).toBe('not a stream');
      expect(await client.exists(`{${keyPrefix}}:d:${bad}:${entries[2]?.id}`)).toBe(0);

      // publishing the rest again with the same ids: the stored ones are duplicates (capabilities.dedupe)
      expect(bus.capabilities.dedupe).toBe(true);
      await client.del(`{${keyPrefix}}:s:${bad}`);
      const again = await bus.publishBatch(entries.slice(2));
      expect(again.map((r) => r.duplicate)).toEqual([false, true, true]);
      expect(await storedIds(client, `{${keyPrefix}}:s:${ok}`)).toEqual(
        [0, 1, 3, 4].map((i) => entries[i]?.id),
      );
      expect(await storedIds(client, `{${keyPrefix}}:s:${bad}`)).toEqual([entries[2]?.id]);
    } finally {
      await bus.close({ timeoutMs: 1_000 });
      client.disconnect();
      await server.dispose();
    }
  }, 30_000);

  it('a pipeline without an answer reports every entry maybe stored', async () => {
    const server = await startRedisServer();
    const bus = await createRedisBus({ url: server.url, keyPrefix: uniquePrefix(), publishTimeoutMs: 500 });
    try {
      server.pause(true);
      const error = await bus
        .publishBatch([
          { subject: 'paused.a', payload: '1' },
          { subject: 'paused.b', payload: '2' },
        ])
        .catch((e) => e);
      expect(error).toBeInstanceOf(PublishError);
      expect(error.accepted).toEqual([]);
      expect(error.maybeStored).toEqual([0, 1]);
    } finally {
      server.pause(false);
      await bus.close({ timeoutMs: 1_000 });
      await server.dispose();
    }
  }, 30_000);
});
