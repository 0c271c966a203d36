import { InvalidSubjectError, silentLogger } from '@omnibus/core';
import { reader, withBroker } from '@omnibus/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createKafkaBus } from '../src/index.js';
import { resolveKafkaOptions, TOPIC_NAME } from '../src/options.js';
import { decodeTopicToken, encodeTopicToken, HASHED, RETRY_SUFFIX, TopicRegistry } from '../src/topics.js';
import { deleteTopics } from './kafka-admin.js';

const registry = (options: Parameters<typeof resolveKafkaOptions>[0] = {}) =>
  new TopicRegistry({} as never, resolveKafkaOptions({ brokers: ['127.0.0.1:1'], ...options }));

/** Kafka refuses a topic whose name equals an existing one's once "." and "_" are taken as the same. */
const metricName = (topic: string) => topic.replaceAll('.', '_');

describe('subject → topic name', () => {
  it('a first token of A–Z a–z 0–9 - keeps the name earlier versions gave it', () => {
    const r = registry();
    expect(r.topicFor('orders.eu.created')).toBe('omnibus.orders');
    expect(r.topicFor('Order-Events-2.x')).toBe('omnibus.Order-Events-2');
    expect(r.topicFor('orders.*.created')).toBe('omnibus.orders');
  });

  it('every other character is escaped as _xx per UTF-8 byte, "_" included', () => {
    const r = registry();
    expect(r.topicFor('café.x')).toBe('omnibus.caf_c3_a9');
    expect(r.topicFor('заказы.eu.created')).toBe('omnibus._d0_b7_d0_b0_d0_ba_d0_b0_d0_b7_d1_8b');
    expect(r.topicFor('🚀.x')).toBe('omnibus._f0_9f_9a_80');
    expect(r.topicFor('snake_case.x')).toBe('omnibus.snake_5fcase');
    expect(r.topicFor('a:b.x')).toBe('omnibus.a_3ab');
  });

  const tricky = [
    'café',
    'caf_c3_a9',
    'cafe',
    'CAFÉ',
    'café_',
    'a_b',
    'a-b',
    'a_5fb',
    '_x', // not a valid first token (reserved), but the encoding must still be injective
    'x\ud800',
    'x\udbff',
    'x\ud83d\ude80',
    '🚀',
    'ж'.repeat(200),
    `${'ж'.repeat(200)}a`,
    `${'ж'.repeat(200)}b`,
    'a'.repeat(255),
    `${'a'.repeat(254)}b`,
    `${'_'.repeat(100)}`,
  ];

  it('distinct tokens get distinct names, also under Kafka\'s "." = "_" rule, and every name is valid with its retry suffix', () => {
    for (const prefix of ['omnibus.', '', 'p'.repeat(100)]) {
      const r = registry({ topicPrefix: prefix });
      const names = tricky.map((t) => r.topicFor(`${t}.x`));
      expect(new Set(names).size).toBe(tricky.length);
      expect(new Set(names.map(metricName)).size).toBe(tricky.length);
      for (const n of names) {
        expect(TOPIC_NAME.test(`${n}${RETRY_SUFFIX}`)).toBe(true);
        expect(`${n}${RETRY_SUFFIX}`.length).toBeLessThanOrEqual(249);
        expect(r.isSubjectTopic(n)).toBe(true);
      }
    }
  });

  it('names decode back to their token; a truncated one is recognised as hashed', () => {
    for (const token of tricky) {
      const full = encodeTopicToken(token, Number.MAX_SAFE_INTEGER);
      expect(decodeTopicToken(full)).toBe(token);
      const short = encodeTopicToken(token, 100);
      expect(short.length).toBeLessThanOrEqual(100);
      expect(decodeTopicToken(short)).toBe(short === full ? token : HASHED);
    }
    // names this adapter does not make
    for (const name of ['a.b', 'a_zz', 'a_61', '_c3', 'caf_c3', '', 'x_ud83d_ude80', 'x_h12']) {
      expect(decodeTopicToken(name)).toBeUndefined();
    }
  });

  it('a wildcard subscription reads topics made for any token, and older raw-token topics, not foreign names', () => {
    const r = registry();
    expect(r.mayHold(r.topicFor('café.x'), '*')).toBe(true);
    expect(r.mayHold(r.topicFor(`${'ж'.repeat(250)}.x`), '>')).toBe(true);
    expect(r.mayHold('omnibus.snake_case', '*')).toBe(true); // made by an earlier version
    expect(r.mayHold('omnibus.some.other.app', '*')).toBe(false);
  });

  it('a custom topicFor must still give a valid name, with room for the retry suffix', () => {
    expect(() => registry({ topicFor: () => 'café' }).topicFor('a.b')).toThrow(InvalidSubjectError);
    expect(() => registry({ topicFor: () => 'x'.repeat(240) }).topicFor('a.b')).toThrow(InvalidSubjectError);
    expect(registry({ topicFor: () => 'x'.repeat(235) }).topicFor('a.b')).toBe('x'.repeat(235));
  });
});

await withBroker('kafka', (broker) => {
  const prefix = `omnibus-topics-${Date.now().toString(36)}.`;
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });
  afterAll(() => deleteTopics([...broker.brokers], prefix));

  it('a pattern starting with a wildcard discovers topics of non-ASCII and truncated first tokens', async () => {
    const options = { brokers: [...broker.brokers], topicPrefix: prefix, groupPrefix: prefix };
    const bus = await createKafkaBus({ ...options, topicDiscoveryMs: 200, logger: silentLogger });
    cleanups.push(() => bus.close({ timeoutMs: 2_000 }));
    const u = Date.now().toString(36);
    const subjects = [`café${u}.new`, `${'ж'.repeat(200)}${u}.new`, `🚀${u}.new`];
    const r = reader(await bus.subscribe('*.new'), 20_000);
    // another bus creates the topics: seen by discovery, not by this bus's own creations
    const other = await createKafkaBus({ ...options, logger: silentLogger });
    cleanups.push(() => other.close({ timeoutMs: 2_000 }));
    for (const s of subjects) await other.publish(s, s);
    const got = [];
    const deadline = Date.now() + 20_000;
    // a topic discovered after its first publish is read from its beginning
    while (got.length < subjects.length && Date.now() < deadline) got.push(await r.next());
    expect(got.map((m) => m.subject).sort()).toEqual([...subjects].sort());
    for (const m of got) expect(m.text()).toBe(m.subject);
  }, 40_000);
});
