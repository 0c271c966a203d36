import type { PartitionMetadata, RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { notingPartitioner, resultOf, unsent } from '../src/sent-partitions.js';

const partitionMetadata = [0, 1, 2].map(
  (partitionId) =>
    ({ partitionId, leader: partitionId, replicas: [], isr: [] }) as unknown as PartitionMetadata,
);
const answer = (topicName: string, partition: number, baseOffset: string): RecordMetadata => ({
  topicName,
  partition,
  errorCode: 0,
  baseOffset,
});

describe('records a send left out (kafkajs retry across brokers)', () => {
  it('notes the partition the default partitioner picks, and finds the records whose partition got no answer', () => {
    const pick = notingPartitioner();
    const records = ['orders.a', 'orders.b', 'orders.c', 'orders.d', 'orders.e', 'orders.f'].map((key) => ({
      key,
      value: Buffer.from(key),
    }));
    const items = records.map((record) => ({ record, topic: 't' }));
    const partitions = records.map((message) => pick({ topic: 't', partitionMetadata, message }));
    // the default partitioner is deterministic on the key: the same record, the same partition
    expect(records.map((message) => pick({ topic: 't', partitionMetadata, message }))).toEqual(partitions);
    const used = [...new Set(partitions)];
    expect(used.length).toBeGreaterThan(1);
    const [missing, ...answered] = used as [number, ...number[]];
    const metadata = answered.map((p) => answer('t', p, '7'));
    const left = unsent(items, metadata);
    expect(left.map((i) => i.record)).toEqual(records.filter((_, i) => partitions[i] === missing));
    expect(unsent(items, [...metadata, answer('t', missing, '9')])).toEqual([]);
    // an answer for the same partition of another topic does not count
    expect(unsent(items, [...metadata, answer('other', missing, '9')])).toHaveLength(left.length);
    const first = records[0] as object;
    expect(resultOf(first, 't', [answer('t', partitions[0] as number, '42')])?.baseOffset).toBe('42');
  });

  it('a record kafkajs never partitioned counts as unsent', () => {
    expect(unsent([{ record: { key: 'x' }, topic: 't' }], [answer('t', 0, '1')])).toHaveLength(1);
  });
});
