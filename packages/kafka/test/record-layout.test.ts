// What a published record looks like on the wire (key = subject, CreateTime = publish time, one
// `omnibus-id` header), that a retry copy keeps the original's publish time, and that records in
// the layout of earlier versions (subject and time headers) are still read as before.
import { type EventBus, InvalidSubjectError, silentLogger } from '@omnibus/core';
import { reader, withBroker } from '@omnibus/testing';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { KafkaMessage } from '../src/client.js';
import { decodeRecord, META, retryRecord, toRecord } from '../src/envelope.js';
import { createKafkaBus } from '../src/index.js';
import { deleteTopics } from './kafka-admin.js';

const outgoing = {
  id: 'id-1',
  subject: 'orders.eu.créé',
  payload: new TextEncoder().encode('{"n":1}'),
  headers: { 'x-user': 'ü' },
  publishedAt: 1_700_000_000_123,
};

describe('record layout', () => {
  it('a record carries the subject as its key, the publish time as its timestamp and only the id as a header of ours', () => {
    const record = toRecord(outgoing as never);
    expect(record.key).toBe('orders.eu.créé');
    expect(record.timestamp).toBe('1700000000123');
    expect(record.headers).toEqual({ 'x-user': 'ü', [META.id]: 'id-1' });
    expect(Buffer.from(record.value).toString()).toBe('{"n":1}');
  });

  it('an application header by a name Omnibus reads back travels escaped and is read back under its own name', () => {
    const headers = {
      [META.subject]: 'audit.x',
      [META.publishedAt]: 'x',
      [META.attempt]: '5',
      [META.due]: '9999999999999',
      [META.group]: 'other',
      [META.id]: 'not-the-id',
      'omnibus-h-already': 'y',
      'x-kept': '1',
    };
    const record = toRecord({ ...outgoing, headers } as never);
    expect(record.headers).toEqual({
      'omnibus-h-omnibus-subject': 'audit.x',
      'omnibus-h-omnibus-published-at': 'x',
      'omnibus-h-omnibus-attempt': '5',
      'omnibus-h-omnibus-due': '9999999999999',
      'omnibus-h-omnibus-group': 'other',
      'omnibus-h-omnibus-id': 'not-the-id',
      'omnibus-h-omnibus-h-already': 'y',
      'x-kept': '1',
      [META.id]: 'id-1',
    });
    const fetched = { ...record, key: Buffer.from(record.key), offset: '7' } as unknown as KafkaMessage;
    expect(decodeRecord(fetched, 't:0:7')).toMatchObject({
      subject: 'orders.eu.créé',
      id: 'id-1',
      publishedAt: 1_700_000_000_123,
      attempt: 1,
      headers,
    });
  });

  it('reads it back whole', () => {
    const record = toRecord(outgoing as never);
    const fetched = { ...record, key: Buffer.from(record.key), offset: '7' } as unknown as KafkaMessage;
    const decoded = decodeRecord(fetched, 't:0:7');
    expect(decoded).toMatchObject({
      subject: 'orders.eu.créé',
      id: 'id-1',
      publishedAt: 1_700_000_000_123,
      headers: { 'x-user': 'ü' },
      attempt: 1,
    });
  });

  it("a retry copy keeps the original's publish time (the copy's own timestamp is later)", () => {
    const record = toRecord(outgoing as never);
    const fetched = { ...record, key: Buffer.from(record.key), offset: '7' } as unknown as KafkaMessage;
    const copy = retryRecord(fetched, 2, 1_800_000_000_000, 'omnibus.g');
    const read = decodeRecord(
      { ...copy, timestamp: '1800000000000', offset: '0' } as unknown as KafkaMessage,
      'r:0:0',
    );
    expect(read).toMatchObject({
      subject: 'orders.eu.créé',
      id: 'id-1',
      publishedAt: 1_700_000_000_123,
      attempt: 2,
    });
  });

  it('a record of an earlier version (subject and time headers) is read by its headers', () => {
    const old = {
      key: Buffer.from('orders.eu.created'),
      value: Buffer.from('x'),
      timestamp: '1700000009999',
      offset: '3',
      headers: {
        [META.subject]: Buffer.from('orders.eu.created'),
        [META.id]: Buffer.from('old-1'),
        [META.publishedAt]: Buffer.from('1700000000001'),
      },
    } as unknown as KafkaMessage;
    expect(decodeRecord(old, 't:0:3')).toMatchObject({
      subject: 'orders.eu.created',
      id: 'old-1',
      publishedAt: 1_700_000_000_001,
      headers: {},
    });
  });
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

await withBroker('kafka', (broker) => {
  const prefix = `omnibus-layout-${Date.now().toString(36)}.`;
  afterAll(() => deleteTopics([...broker.brokers], prefix));

  async function bus(): Promise<EventBus> {
    const b = await createKafkaBus({
      brokers: [...broker.brokers],
      topicPrefix: prefix,
      groupPrefix: prefix,
      logger: silentLogger,
    });
    cleanups.push(() => b.close({ timeoutMs: 2_000 }));
    return b;
  }

  it('a nak comes back (a retry-topic copy) with the publish time of the first attempt', async () => {
    const b = await bus();
    const r = reader(await b.subscribe('layout.x', { ack: 'manual', group: 'g' }), 20_000);
    await b.publish('layout.x', 'once');
    const first = await r.next();
    await new Promise((resolve) => setTimeout(resolve, 20)); // the copy is stored later
    await first.nak();
    const again = await r.next();
    expect([again.text(), again.attempt, again.id]).toEqual(['once', 2, first.id]);
    expect(again.publishedAt.getTime()).toBe(first.publishedAt.getTime());
    await again.ack();
  }, 40_000);

  it('an application header named like Omnibus metadata changes nothing: subject, time and attempt are the real ones', async () => {
    const b = await bus();
    const r = reader(await b.subscribe('spoof.>', { group: 'g' }), 20_000);
    const before = Date.now();
    await b.publish('spoof.a', 'x', {
      headers: { [META.subject]: 'audit.x', [META.publishedAt]: 'nope', [META.attempt]: '5', 'x-kept': '1' },
    });
    const m = await r.next();
    expect([m.subject, m.attempt, m.text(), m.headers]).toEqual([
      'spoof.a',
      1,
      'x',
      { [META.subject]: 'audit.x', [META.publishedAt]: 'nope', [META.attempt]: '5', 'x-kept': '1' },
    ]);
    expect(m.publishedAt.getTime()).toBeGreaterThanOrEqual(before);
  }, 40_000);

  it('a first token that would name a retry topic is an InvalidSubjectError, nothing sent', async () => {
    const b = await bus();
    await expect(b.publish('omnibus-retry.x', 'x')).rejects.toBeInstanceOf(InvalidSubjectError);
    await expect(b.publishBatch([{ subject: 'omnibus-retry.y', payload: 'y' }])).rejects.toBeInstanceOf(
      InvalidSubjectError,
    );
  }, 40_000);

  it('a record another producer wrote in the earlier layout is delivered with its header subject, id and time', async () => {
    const b = await bus();
    const r = reader(await b.subscribe('legacy.>', { group: 'g' }), 20_000);
    const kafka = new Kafka({ brokers: [...broker.brokers], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await producer.send({
      topic: `${prefix}legacy`,
      messages: [
        {
          key: 'legacy.a',
          value: 'old',
          timestamp: '1700000009999',
          headers: {
            [META.subject]: 'legacy.a',
            [META.id]: 'old-1',
            [META.publishedAt]: '1700000000001',
            'x-user': 'kept',
          },
        },
      ],
    });
    const m = await r.next();
    expect([m.subject, m.id, m.publishedAt.getTime(), m.text(), m.headers]).toEqual([
      'legacy.a',
      'old-1',
      1_700_000_000_001,
      'old',
      { 'x-user': 'kept' },
    ]);
  }, 40_000);
});
