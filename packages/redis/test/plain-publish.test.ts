// A subject this process registered is published with a plain XADD NOMKSTREAM (no script):
// these tests hold that path to the script's guarantees — registered subjects, order,
// a stream deleted from outside, dedupe.
import { reader } from '@omnibus/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { prefixedBus } from './redis-bus.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function setUp() {
  const { bus, client, keyPrefix } = await prefixedBus(cleanups);
  const stream = (subject: string) => `{${keyPrefix}}:s:${subject}`;
  const texts = async (subject: string) =>
    (await client.xrange(stream(subject), '-', '+')).map(([, f]) => f[f.indexOf('p') + 1]);
  const registry = () => client.smembers(`{${keyPrefix}}:subjects`).then((s) => s.sort());
  /** Deletes a subject's stream and prunes it from the registry, as the subject watcher would. */
  const forget = async (subject: string) => {
    await client.del(stream(subject));
    await client.srem(`{${keyPrefix}}:subjects`, subject);
    await client.hdel(`{${keyPrefix}}:subjects:born`, subject);
  };
  return { bus, client, stream, texts, registry, forget };
}

describe('redis: publishes after a subject is registered', () => {
  it('a batch mixing new and known subjects stores every entry in order and registers each subject', async () => {
    const { bus, texts, registry } = await setUp();
    await bus.publish('mix.a', 'a0');
    const receipts = await bus.publishBatch(
      ['a1', 'b1', 'a2', 'b2', 'c1', 'a3'].map((text) => ({ subject: `mix.${text[0]}`, payload: text })),
    );
    expect(receipts.map((r) => r.duplicate)).toEqual([false, false, false, false, false, false]);
    const aSequences = [0, 2, 5].map((i) => receipts[i]?.sequence);
    expect(new Set(aSequences).size).toBe(3);
    expect(await texts('mix.a')).toEqual(['a0', 'a1', 'a2', 'a3']);
    expect(await texts('mix.b')).toEqual(['b1', 'b2']);
    expect(await texts('mix.c')).toEqual(['c1']);
    expect(await registry()).toEqual(['mix.a', 'mix.b', 'mix.c']);
  });

  it('a stream deleted (and pruned) from outside: the next publish and batch create and register it again, in order', async () => {
    const { bus, client, stream, texts, registry, forget } = await setUp();
    await bus.publish('del.x', 'before');
    await forget('del.x');
    await bus.publish('del.x', 'one');
    expect(await registry()).toEqual(['del.x']);
    await bus.publishBatch(['two', 'three'].map((payload) => ({ subject: 'del.x', payload })));
    expect(await texts('del.x')).toEqual(['one', 'two', 'three']);
    await forget('del.x');
    await bus.publishBatch(['four', 'five'].map((payload) => ({ subject: 'del.x', payload })));
    expect(await texts('del.x')).toEqual(['four', 'five']);
    expect(await registry()).toEqual(['del.x']);
    expect(await client.exists(stream('del.x'))).toBe(1);
  });

  it('a wildcard group reads a subject whose stream was deleted and pruned once it is published again', async () => {
    const { bus, forget } = await setUp();
    await bus.publish('wild.x', 'zero');
    const r = reader(await bus.subscribe('wild.*', { group: 'g', from: 'new' }), 10_000);
    await forget('wild.x');
    await bus.publishBatch(['one', 'two'].map((payload) => ({ subject: 'wild.x', payload })));
    expect((await r.next()).text()).toBe('one');
    expect((await r.next()).text()).toBe('two');
  });

  it('a batch after its stream was deleted keeps batch order, with and without ids', async () => {
    const { bus, texts, forget } = await setUp();
    await bus.publish('ord.x', 'zero');
    await forget('ord.x');
    await bus.publishBatch([
      { subject: 'ord.x', payload: 'a' },
      { subject: 'ord.x', payload: 'b', id: 'with-id' },
      { subject: 'ord.x', payload: 'c' },
    ]);
    expect(await texts('ord.x')).toEqual(['a', 'b', 'c']);
  });

  it('a group created where no stream is creates it registered: a later plain publish is seen by wildcard groups', async () => {
    const { bus, registry, forget } = await setUp();
    await bus.publish('grp.x', 'zero'); // registered in this process: later publishes are plain
    await forget('grp.x');
    const exact = await bus.consume('grp.x', () => undefined, { group: 'exact' }); // recreates the stream
    expect(await registry()).toEqual(['grp.x']);
    await bus.publish('grp.x', 'one');
    const r = reader(await bus.subscribe('grp.*', { group: 'wild', from: 'earliest' }), 10_000);
    expect((await r.next()).text()).toBe('one');
    await exact.close();
  });

  it('a publish with an id still goes through the script: a repeat within the window is a duplicate', async () => {
    const { bus, texts } = await setUp();
    await bus.publish('dup.x', 'first');
    const a = await bus.publish('dup.x', 'second', { id: 'order-1' });
    const b = await bus.publish('dup.x', 'second again', { id: 'order-1' });
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(true);
    expect(b.sequence).toBe(a.sequence);
    expect(await texts('dup.x')).toEqual(['first', 'second']);
  });
});
