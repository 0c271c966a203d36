import { type EventBus, InvalidArgumentError, manage, type StoredMessage, silentLogger } from '@omnibus/core';
import { reader, startLocalRedisCluster, uniquePrefix, waitFor, withBroker } from '@omnibus/testing';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisBus } from '../src/index.js';
import { Keys } from '../src/keys.js';
import { BROWSE_CHUNK, entryRef, RedisManagement } from '../src/redis-management.js';
import { deleteKeys } from './redis-server.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (m: StoredMessage) => new TextDecoder().decode(m.payload);

await withBroker('redis', (broker) => {
  async function bus(keyPrefix: string, client?: Redis | Cluster): Promise<EventBus> {
    const b = await createRedisBus({
      ...(client ? { client } : { url: broker.url }),
      keyPrefix,
      logger: silentLogger,
    });
    cleanups.push(() => b.close({ timeoutMs: 1_000 }));
    return b;
  }

  /** A prefix of this test, its keys deleted afterwards. */
  function prefix(): string {
    const p = uniquePrefix();
    cleanups.push(() => deleteKeys(broker.url, p));
    return p;
  }

  /** The driver-side management of `keyPrefix` over a client of its own. */
  function management(keyPrefix: string): RedisManagement {
    const client = new Redis(broker.url, { maxRetriesPerRequest: 1 });
    cleanups.push(async () => client.disconnect());
    return new RedisManagement(client, new Keys(keyPrefix), 5_000);
  }

  async function browseAll(m: RedisManagement, pattern: string, signal?: AbortSignal) {
    const out: StoredMessage[] = [];
    for await (const s of m.browse(pattern, signal ? { signal } : {})) out.push(s);
    return out;
  }

  /** Dead-letters `texts` on `subject` (one attempt) and waits until they are listed. */
  async function deadLetter(b: EventBus, subject: string, texts: string[], group?: string) {
    const sub = await b.consume(
      subject,
      () => {
        throw new Error('boom');
      },
      { maxAttempts: 1, ...(group ? { group } : {}) },
    );
    for (const t of texts) await b.publish(subject, t);
    await waitFor(
      async () => (await manage(b).deadLetters.list({ subject, limit: 1_000 })).items.length >= texts.length,
      `${texts.length} dead letters on ${subject}`,
      15_000,
    );
    await sub.close();
  }

  describe('redis management', () => {
    it('browse ends at what was stored when it began while a publisher keeps publishing, in chunks, oldest first', async () => {
      const p = prefix();
      const b = await bus(p);
      const before = BROWSE_CHUNK * 2 + 37; // several XRANGE chunks
      for (let i = 0; i < before; i += 100) {
        await b.publishBatch(
          Array.from({ length: Math.min(100, before - i) }, (_, j) => ({
            subject: 'feed.a',
            payload: `${i + j}`,
          })),
        );
      }
      await b.publish('feed.b', 'b0');
      await b.publish('other.c', 'c0');
      let running = true;
      let late = 0;
      const publishing = (async () => {
        while (running) await b.publish('feed.a', `late${late++}`);
      })();
      await waitFor(() => late > 20, 'the publisher running', 10_000);
      const m = management(p);
      const seen: StoredMessage[] = [];
      for await (const s of m.browse('feed.*')) {
        seen.push(s);
        if (seen.length % 100 === 0) await sleep(5); // slow reader: the publisher goes on meanwhile
      }
      const publishedDuringBrowse = late;
      await sleep(50);
      running = false;
      await publishing;

      expect(new Set(seen.map((s) => s.subject))).toEqual(new Set(['feed.a', 'feed.b']));
      const a = seen.filter((s) => s.subject === 'feed.a');
      expect(a.slice(0, before).map(text)).toEqual(Array.from({ length: before }, (_, i) => `${i}`));
      expect(new Set(a.map((s) => s.ref)).size).toBe(a.length);
      for (const s of a) expect(s.ref).toBe(entryRef('feed.a', s.ref.slice('feed.a@'.length)));
      // ended although the publisher kept going: far fewer late ones than were published meanwhile
      expect(a.length - before).toBeLessThan(publishedDuringBrowse);
      const client = new Redis(broker.url);
      cleanups.push(async () => client.disconnect());
      expect(await client.xlen(new Keys(p).stream('feed.a'))).toBeGreaterThan(a.length);

      // an aborted browse stops where it is
      const stop = new AbortController();
      let n = 0;
      for await (const _ of m.browse('feed.a', { signal: stop.signal })) if (++n === 10) stop.abort();
      expect(n).toBe(10);
    });

    it('remove: a gone reference is not an error; a malformed one is an InvalidArgumentError and nothing is removed', async () => {
      const p = prefix();
      const b = await bus(p);
      for (const t of ['x0', 'x1', 'x2']) await b.publish('gone.x', t);
      const m = management(p);
      const [r0, r1, r2] = (await browseAll(m, 'gone.x')).map((s) => s.ref) as [string, string, string];
      await m.remove([r0]);
      await m.remove([r0]); // already gone
      await m.remove([entryRef('never.published', '1-0')]); // no such stream
      await m.remove([]);
      for (const bad of [
        '',
        'gone.x',
        'gone.x@',
        '@1-0',
        'gone.x@abc',
        'gone.*@1-0',
        'gone..x@1-0',
        'gone.x@1-0 ',
      ]) {
        await expect(m.remove([r1, bad])).rejects.toBeInstanceOf(InvalidArgumentError);
      }
      await expect(m.remove([42 as unknown as string])).rejects.toBeInstanceOf(InvalidArgumentError);
      expect((await browseAll(m, 'gone.x')).map((s) => s.ref)).toEqual([r1, r2]);
      // a subject may contain '@': the entry id is after the last one
      await b.publish('mail.a@b', 'm');
      const [mail] = await browseAll(m, 'mail.>');
      expect(mail?.subject).toBe('mail.a@b');
      await m.remove([mail?.ref as string]);
      expect(await browseAll(m, 'mail.>')).toEqual([]);
    });

    it("keyPrefix isolation: another bus's dead letters and groups are never listed, purged or removed", async () => {
      const pa = prefix();
      const pb = `${pa}x`; // one prefix starts with the other
      cleanups.push(() => deleteKeys(broker.url, pb));
      const a = await bus(pa);
      const other = await bus(pb);
      await deadLetter(a, 'orders.x', ['a1'], 'ga');
      await deadLetter(other, 'orders.x', ['b1', 'b2'], 'gb');
      const adminA = manage(a);
      const adminB = manage(other);
      expect((await adminA.deadLetters.list()).items.map((d) => new TextDecoder().decode(d.payload))).toEqual(
        ['a1'],
      );
      expect((await adminB.deadLetters.list()).items).toHaveLength(2);
      expect((await adminA.groups()).map((g) => g.group)).toEqual(['ga']);
      expect((await adminB.groups()).map((g) => g.group)).toEqual(['gb']);
      const purged = await adminB.deadLetters.purge();
      expect([purged.selected, purged.done]).toEqual([2, 2]);
      expect((await adminA.deadLetters.list()).items).toHaveLength(1);
    });

    it("groups: only named groups, not an ungrouped subscription's; pending and redelivered follow a nak; members not told", async () => {
      const p = prefix();
      const b = await bus(p);
      const ungrouped = await b.subscribe('work.x');
      cleanups.push(() => ungrouped.close());
      const member = await b.subscribe('work.*', { group: 'g', ack: 'manual' });
      cleanups.push(() => member.close());
      const r = reader(member, 10_000);
      await b.publish('work.x', 'one');
      const first = await r.next();
      const admin = manage(b);
      const g = async () => {
        const all = await admin.groups();
        expect(all.map((x) => x.group)).toEqual(['g']);
        return all[0];
      };
      expect(await g()).toEqual({ group: 'g', patterns: ['work.*'], pending: 1, lag: 0, redelivered: 0 });
      await first.nak({ delayMs: 0 });
      const second = await r.next();
      expect(second.attempt).toBe(2);
      expect(await g()).toMatchObject({ pending: 1, redelivered: 1, lag: 0 });
      expect((await g())?.members).toBeUndefined();
      await second.ack();
      await waitFor(async () => (await g())?.pending === 0, 'pending back to 0', 10_000);
      expect(await g()).toMatchObject({ pending: 0, redelivered: 0, lag: 0 });
    });

    it('groups: lag of a group no member has read yet, on a subject first published after it was registered, is the stream length', async () => {
      const p = prefix();
      const b = await bus(p);
      await (await b.subscribe('idle.*', { group: 'later' })).close();
      for (let i = 0; i < 3; i++) await b.publish('idle.x', `i${i}`);
      expect(await manage(b).groups()).toEqual([
        { group: 'later', patterns: ['idle.*'], pending: 0, lag: 3, redelivered: 0 },
      ]);
    });

    it('a Redis Cluster client: dead letters listed, groups found and dead letters purged', async () => {
      const redisCluster = await startLocalRedisCluster();
      cleanups.push(() => redisCluster.dispose());
      const cluster = new Cluster(redisCluster.nodes);
      cleanups.push(async () => cluster.disconnect());
      const b = await bus(uniquePrefix(), cluster);
      await deadLetter(b, 'shard.a', ['one', 'two'], 'workers');
      const admin = manage(b);
      const listed = await admin.deadLetters.list();
      expect(listed.items.map((d) => d.subject)).toEqual(['shard.a', 'shard.a']);
      expect(await admin.deadLetters.show(listed.items[0]?.ref as string)).toMatchObject({
        subject: 'shard.a',
      });
      expect((await admin.groups()).map((x) => x.group)).toEqual(['workers']);
      expect((await admin.deadLetters.purge()).done).toBe(2);
      expect((await admin.deadLetters.list()).items).toHaveLength(0);
    });
  });
});
