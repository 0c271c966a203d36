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
    // the hand-out ledger and the server's own subjects are never read
    expect(filtersFor('>', ['_omnibus.handouts.>'])).toEqual([]);
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

    it('maxInFlight 1 over 10 streams: idle streams do not starve a busy one (each idle long pull once held the only slot)', async () => {
      const prefix = uniqueName('LWSTARVE');
      const u = uniqueName('u');
      const b = await bus(prefix);
      const firsts = Array.from({ length: 10 }, (_, i) => `t${i}-${u}`);
      for (const f of firsts) await b.publish(`${f}.${u}`, 'creates the stream');
      const got: string[] = [];
      const sub = await b.consume(`*.${u}`, (m) => void got.push(m.text()), { maxInFlight: 1 });
      const sent = Date.now();
      for (let i = 0; i < 20; i++) await b.publish(`${firsts[0]}.${u}`, `busy #${i}`);
      // before: about one message per round of the 9 idle pulls (~9 s each)
      await waitFor(() => got.length >= 20, 'the 20 messages of the busy stream', 15_000);
      console.log(`20 messages over 1 busy and 9 idle streams with maxInFlight 1: ${Date.now() - sent} ms`);
      expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `busy #${i}`));
      // an idle stream still gets its message
      await b.publish(`${firsts[5]}.${u}`, 'on an idle stream');
      await waitFor(() => got.includes('on an idle stream'), 'the message on an idle stream', 10_000);
      await sub.close();
      await b.close();
    }, 40_000);

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

  describe('a group exists from its first subscribe (the group registry)', () => {
    /** The group registry's stream and the subject a group's registration is stored on. */
    const registryOf = (prefix: string) => `${prefix}__GROUPS`;
    const entryOf = (prefix: string, group: string) => `_omnibus.groups.${prefix}.${group}.>`;
    const jsmOn = async () => {
      const nc = await connect({ servers: broker.url });
      return { nc, jsm: await jetstreamManager(nc) };
    };

    it('a group first subscribed while no matching stream existed gets a message published later to a new stream', async () => {
      const prefix = uniqueName('LWREG');
      const u = uniqueName('u');
      const group = uniqueName('g');
      streamsToDelete.add(registryOf(prefix));
      // no stream of this prefix exists: the first subscribe finds nothing to put a durable on
      const first = await bus(prefix);
      const member = await first.consume('*.created', () => undefined, { group });
      await member.close();
      await first.close();
      // no member runs: the first publish creates the stream
      const publisher = await bus(prefix);
      await publisher.publish(`o-${u}.created`, 'published while no member ran');
      const second = await bus(prefix);
      const got: string[] = [];
      await second.consume('*.created', (m) => void got.push(m.text()), { group });
      await waitFor(() => got.length >= 1, 'the message published while no member ran', 10_000);
      await sleep(300);
      expect(got).toEqual(['published while no member ran']);
      await second.close();
      await publisher.close();
    });

    it('two members subscribing at once register the group once, and both read from that registration', async () => {
      const prefix = uniqueName('LWREG2');
      const u = uniqueName('u');
      const group = uniqueName('g');
      streamsToDelete.add(registryOf(prefix));
      const statuses: string[] = [];
      const onStatus = (s: { type: string }) => statuses.push(s.type);
      const a = await bus(prefix, { onStatus });
      const b = await bus(prefix, { onStatus });
      const got: string[] = [];
      const [ma, mb] = await Promise.all([
        a.consume('*.created', (m) => void got.push(`a:${m.text()}`), { group }),
        b.consume('*.created', (m) => void got.push(`b:${m.text()}`), { group }),
      ]);
      // the member that lost the race read the winner's entry: no failure reported
      expect(statuses).not.toContain('group_registry_failed');
      const { nc, jsm } = await jsmOn();
      const info = await jsm.streams.info(registryOf(prefix));
      // one write ever (a second registration would have taken sequence 2)
      expect(info.state.last_seq).toBe(1);
      expect(info.state.messages).toBe(1);
      const entry = await jsm.streams.getMessage(registryOf(prefix), {
        last_by_subj: entryOf(prefix, group),
      });
      expect(entry?.json()).toMatchObject({ group, pattern: '*.created' });
      await nc.close();
      await Promise.all([ma.close(), mb.close()]);
      const publisher = await bus(prefix);
      await publisher.publish(`p-${u}.created`, 'after both registered');
      await b.consume('*.created', (m) => void got.push(`b:${m.text()}`), { group });
      await waitFor(() => got.length >= 1, 'the message');
      await sleep(300);
      expect(got).toEqual(['b:after both registered']);
      await Promise.all([a.close(), b.close(), publisher.close()]);
    });

    it('a deleted group (its durables and its registry entry) starts afresh', async () => {
      const prefix = uniqueName('LWREG3');
      const u = uniqueName('u');
      const group = uniqueName('g');
      streamsToDelete.add(registryOf(prefix));
      const b = await bus(prefix);
      await b.publish(`q-${u}.created`, 'creates the stream');
      const got: string[] = [];
      const member = await b.consume('*.created', (m) => void got.push(m.text()), { group });
      await b.publish(`q-${u}.created`, 'while the group exists');
      await waitFor(() => got.length === 1, 'the first message');
      await member.close();
      // delete the group: its durable on every stream, and its registration
      const { nc, jsm } = await jsmOn();
      await jsm.consumers.delete(`${prefix}_q-${u}`, group);
      await jsm.streams.purge(registryOf(prefix), { filter: entryOf(prefix, group) });
      await nc.close();
      await b.publish(`q-${u}.created`, 'while the group is deleted');
      await b.publish(`r-${u}.created`, 'on a new stream while the group is deleted');
      await b.consume('*.created', (m) => void got.push(m.text()), { group });
      await b.publish(`q-${u}.created`, 'after the group was created again');
      await waitFor(() => got.length >= 2, 'the message after');
      await sleep(500);
      expect(got).toEqual(['while the group exists', 'after the group was created again']);
      await b.close();
    });

    it('a native group whose stream was deleted and created again while no member ran misses nothing', async () => {
      const prefix = uniqueName('LWREG4');
      const u = uniqueName('u');
      const group = uniqueName('g');
      streamsToDelete.add(registryOf(prefix));
      const first = await bus(prefix);
      // a literal first token: one stream, one durable (the first subscribe creates the stream)
      const member = await first.consume(`n-${u}.*`, () => undefined, { group });
      expect(first.createdStreams).toContain(`${prefix}_n-${u}`);
      await member.close();
      await first.close();
      const { nc, jsm } = await jsmOn();
      await jsm.streams.delete(`${prefix}_n-${u}`); // the durable goes with it
      await nc.close();
      const publisher = await bus(prefix);
      await publisher.publish(`n-${u}.x`, 'published to the stream created again');
      const second = await bus(prefix);
      const got: string[] = [];
      await second.consume(`n-${u}.*`, (m) => void got.push(m.text()), { group });
      await waitFor(() => got.length >= 1, 'the message', 10_000);
      expect(got).toEqual(['published to the stream created again']);
      await second.close();
      await publisher.close();
    });

    it("with provision 'verify' and no registry stream, a group still subscribes and says so", async () => {
      const prefix = uniqueName('LWREG5');
      const u = uniqueName('u');
      const group = uniqueName('g');
      const creator = await bus(prefix);
      await creator.publish(`v-${u}.created`, 'creates the stream');
      await creator.close();
      const statuses: string[] = [];
      const b = await bus(prefix, {
        provision: 'verify',
        onStatus: (s: { type: string }) => statuses.push(s.type),
      });
      const got: string[] = [];
      await b.consume('*.created', (m) => void got.push(m.text()), { group });
      expect(statuses).toContain('group_registry_missing');
      await b.publish(`v-${u}.created`, 'delivered');
      await waitFor(() => got.length === 1, 'the message');
      const { nc, jsm } = await jsmOn();
      const missing = await jsm.streams.info(registryOf(prefix)).then(
        () => false,
        () => true,
      );
      await nc.close();
      expect(missing).toBe(true);
      await b.close();
    });
  });
});
