import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { type Message, silentLogger } from '@omnibus/core';
import { uniqueName, waitFor, withBroker } from '@omnibus/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '../src/index.js';
import { filtersFor, intersect } from '../src/streams.js';
import { deleteStreams } from './nats-server.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('narrowing a pattern to a stream', () => {
  it('intersects two patterns into one pattern, or none', () => {
    expect(intersect('*.created', 'orders.>')).toBe('orders.created');
    expect(intersect('*.created', 'orders')).toBeUndefined();
    expect(intersect('>', 'orders.>')).toBe('orders.>');
    expect(intersect('*.eu.>', 'orders.>')).toBe('orders.eu.>');
    expect(intersect('*', 'orders')).toBe('orders');
    expect(intersect('*.>', 'orders.*.paid')).toBe('orders.*.paid');
    expect(intersect('*.a', '*.b')).toBeUndefined();
    expect(intersect('a.*.c', '*.b.>')).toBe('a.b.c');
  });

  it('gives the consumer filters JetStream 2.9 accepts within a stream', () => {
    expect(filtersFor('*.created', ['orders', 'orders.>'])).toEqual(['orders.created']);
    expect(filtersFor('>', ['orders', 'orders.>'])).toEqual(['>']);
    expect(filtersFor('*', ['orders', 'orders.>'])).toEqual(['orders']);
    expect(filtersFor('*.eu.>', ['orders', 'orders.>'])).toEqual(['orders.eu.>']);
    expect(filtersFor('*.created', ['billing.*.paid'])).toEqual([]);
    expect(filtersFor('*.created', ['a.>', 'b.>'])).toEqual(['a.created', 'b.created']);
    // the release ledger and the server's own subjects are never read
    expect(filtersFor('>', ['_omnibus.released.>'])).toEqual([]);
  });
});

await withBroker('nats', (broker) => {
  const streamsToDelete = new Set<string>();
  afterAll(() => deleteStreams(broker.url, streamsToDelete));

  /** A bus with its own stream prefix; its streams are deleted after the file. */
  const bus = async (prefix: string, options: Record<string, unknown> = {}) => {
    const b = await createNatsBus({
      url: broker.url,
      streamPrefix: prefix,
      logger: silentLogger,
      ...options,
    });
    const close = b.close.bind(b);
    b.close = async (o) => {
      for (const s of b.createdStreams) streamsToDelete.add(s);
      await close(o);
    };
    return b;
  };

  /** Consumers on the streams named, by stream. */
  const consumersOn = async (streams: string[]) => {
    const nc = await connect({ servers: broker.url });
    const jsm = await jetstreamManager(nc);
    const out: Record<string, string[]> = {};
    for (const s of streams) {
      out[s] = [];
      for await (const c of jsm.consumers.list(s)) out[s].push(c.name);
    }
    await nc.close();
    return out;
  };

  describe('patterns starting with a wildcard', () => {
    it('"*.x.created" is consumed across the automatic streams (once refused with a ConfigError)', async () => {
      const prefix = uniqueName('LW');
      const u = uniqueName('u');
      const b = await bus(prefix);
      await b.publish(`old-${u}.${u}.created`, 'before');
      const got: Message[] = [];
      await b.consume(`*.${u}.created`, (m) => void got.push(m));
      const subjects = [`old-${u}.${u}.created`, `new-${u}.${u}.created`];
      for (const s of subjects) await b.publish(s, s);
      await waitFor(() => got.length >= 2, 'both messages');
      expect(got.map((m) => m.subject).sort()).toEqual(subjects.sort());
      await b.close();
    });

    it('maxInFlight holds across all the streams of one subscription', async () => {
      const prefix = uniqueName('LWCAP');
      const u = uniqueName('u');
      const b = await bus(prefix);
      const firsts = ['a', 'b', 'c', 'd'].map((t) => `${t}-${u}`);
      for (let i = 0; i < 5; i++) for (const f of firsts) await b.publish(`${f}.${u}`, `${f}#${i}`);
      const sub = await b.subscribe(`*.${u}`, { from: 'earliest', ack: 'manual', maxInFlight: 3 });
      const it = sub[Symbol.asyncIterator]();
      const held: Message[] = [];
      for (let i = 0; i < 3; i++) held.push((await it.next()).value as Message);
      // four consumers, each able to fetch: still nothing beyond the 3 slots, for longer than a pull
      const fourth = it.next();
      const raced = await Promise.race([fourth.then(() => 'more'), sleep(2_500).then(() => 'none')]);
      expect(raced).toBe('none');
      expect(b.stats().inFlight).toBe(3);
      await held[0]?.ack();
      const next = (await fourth).value as Message;
      held.push(next);
      const all = new Set(held.map((m) => m.text()));
      for (const m of held.slice(1)) await m.ack();
      while (all.size < 20) {
        const m = (await it.next()).value as Message;
        expect(b.stats().inFlight).toBeLessThanOrEqual(3);
        all.add(m.text());
        await m.ack();
      }
      expect(all.size).toBe(20);
      await sub.close();
      await b.close();
    }, 30_000);

    it('a stream created by another process after subscribe is discovered, from its first message', async () => {
      const prefix = uniqueName('LWEXT');
      const u = uniqueName('u');
      const b = await bus(prefix, { discoveryIntervalMs: 60_000 }); // only the advisory can find it quickly
      const sub = await b.subscribe(`*.${u}`);
      const nc = await connect({ servers: broker.url });
      const name = `${prefix}_ext-${u}`;
      await (await jetstreamManager(nc)).streams.add({ name, subjects: [`ext-${u}`, `ext-${u}.>`] });
      streamsToDelete.add(name);
      const sent = Date.now();
      await jetstream(nc).publish(`ext-${u}.${u}`, 'from elsewhere');
      for await (const m of sub) {
        expect(m.subject).toBe(`ext-${u}.${u}`);
        expect(m.text()).toBe('from elsewhere');
        // the figure the README quotes ("found within … ms" through the advisory)
        console.log(`new stream found and its first message delivered after ${Date.now() - sent} ms`);
        break;
      }
      await nc.close();
      await b.close();
    });

    it('close stops every per-stream consumer and the discovery; the ephemeral consumers are deleted', async () => {
      const prefix = uniqueName('LWCLOSE');
      const u = uniqueName('u');
      const b = await bus(prefix, { discoveryIntervalMs: 200 });
      for (const t of ['a', 'b', 'c']) await b.publish(`${t}-${u}.x`, '1');
      const streams = ['a', 'b', 'c'].map((t) => `${prefix}_${t}-${u}`);
      const sub = await b.subscribe('>');
      const during = await consumersOn(streams);
      for (const s of streams) expect(during[s]).toHaveLength(1);
      await sub.close();
      const after = await consumersOn(streams);
      for (const s of streams) expect(after[s]).toEqual([]);
      // no discovery any more: a new stream gets no consumer
      await b.publish(`d-${u}.x`, '1');
      await sleep(600);
      expect((await consumersOn([`${prefix}_d-${u}`]))[`${prefix}_d-${u}`]).toEqual([]);
      await b.close();
    });

    it('a group gets messages of a first token first used while none of its members ran', async () => {
      const prefix = uniqueName('LWGRP');
      const u = uniqueName('u');
      const group = uniqueName('g');
      const publisher = await bus(prefix);
      await publisher.publish(`a-${u}.${u}.created`, 'creates the first stream');
      const first = await bus(prefix);
      const got: string[] = [];
      const member = await first.consume(`*.${u}.created`, (m) => void got.push(m.text()), { group });
      await publisher.publish(`a-${u}.${u}.created`, 'while a member runs');
      await waitFor(() => got.length === 1, 'the first message');
      await member.close();
      await first.close();
      // no member runs: a new first token (a new stream) appears
      await publisher.publish(`b-${u}.${u}.created`, 'while no member runs');
      await publisher.publish(`a-${u}.${u}.created`, 'also while no member runs');
      const second = await bus(prefix);
      await second.consume(`*.${u}.created`, (m) => void got.push(m.text()), { group });
      await waitFor(() => got.length >= 3, 'the messages published while no member ran');
      await sleep(300);
      expect(got.sort()).toEqual([
        'also while no member runs',
        'while a member runs',
        'while no member runs',
      ]);
      await second.close();
      await publisher.close();
    });
  });
});
