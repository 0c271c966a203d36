import { PublishError } from '@omnibus/core';
import { storedIds, uniqueName, withBroker } from '@omnibus/testing';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafkaBus } from '../src/index.js';
import { deleteTopics } from './kafka-admin.js';

/** Kafka's waits for a read-back: a subscription from the start joins its group (seconds) before the first record. */
const KAFKA_READ = { timeoutMs: 30_000, quietMs: 1_000 };

await withBroker('kafka', (broker) => {
  const prefix = `omnibus-batch-${Date.now().toString(36)}.`;
  afterAll(() => deleteTopics([...broker.brokers], prefix));

  describe('publishBatch with a failure in the middle', () => {
    it('accepted is the acknowledged prefix, every later entry is reported maybe stored, the refused one is not stored, order is kept', async () => {
      const bus = await createKafkaBus({
        brokers: [...broker.brokers],
        topicPrefix: prefix,
        groupPrefix: prefix,
      });
      const admin = new Kafka({ brokers: [...broker.brokers], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        const ok = `${uniqueName('ok')}.x`;
        const small = `${uniqueName('small')}.x`;
        // the bus creates both topics; then `small` takes no record batch over 1 KiB
        const first = await bus.publish(ok, 'setup');
        const setup = await bus.publish(small, 'setup');
        const smallTopic = (setup.sequence as string).split(':')[0] as string;
        await admin.alterConfigs({
          validateOnly: false,
          resources: [
            { type: 2, name: smallTopic, configEntries: [{ name: 'max.message.bytes', value: '1024' }] },
          ],
        });
        // the new limit reaches the broker's log asynchronously: probe until an oversized record is refused
        const probes: string[] = [];
        let refusal: PublishError | undefined;
        while (!refusal) {
          const probe = await bus.publish(small, 'y'.repeat(4096)).catch((e) => e);
          if (probe instanceof PublishError) refusal = probe;
          else probes.push(probe.id);
          expect(probes.length).toBeLessThan(50);
        }
        // the refusal says what to do about it
        expect(refusal.hint).toContain("the topic's max.message.bytes");
        const entries = [
          { subject: ok, payload: 'a0', id: uniqueName('e0') },
          { subject: ok, payload: 'a1', id: uniqueName('e1') },
          { subject: small, payload: 'x'.repeat(4096), id: uniqueName('e2') },
          { subject: ok, payload: 'a3', id: uniqueName('e3') },
          { subject: ok, payload: 'a4', id: uniqueName('e4') },
        ];
        const error = await bus.publishBatch(entries).catch((e) => e);
        expect(error).toBeInstanceOf(PublishError);
        expect(error.message).toContain('failed at entry 2 of 5');
        // each record has its own answer: the entries before the refused one were acknowledged
        expect(error.accepted).toHaveLength(2);
        expect(error.maybeStored).toEqual([2, 3, 4]);
        // what the broker refused, then what to publish again (no dedupe on Kafka)
        expect(error.hint).toContain("the topic's max.message.bytes");
        expect(error.hint).toContain('that are not in maybeStored');
        // read back: the partition that answered stored its records in batch order; the refused one nothing
        const id = (i: number) => entries[i]?.id;
        expect(await storedIds(bus, `${ok.split('.')[0]}.*`, 5, KAFKA_READ)).toEqual([
          first.id,
          id(0),
          id(1),
          id(3),
          id(4),
        ]);
        expect(await storedIds(bus, `${small.split('.')[0]}.*`, 1 + probes.length, KAFKA_READ)).toEqual([
          setup.id,
          ...probes,
        ]);
        // Kafka has no dedupe: what to publish again is the caller's choice, entry by entry
        expect(bus.capabilities.dedupe).toBe(false);
      } finally {
        await admin.disconnect();
        await bus.close({ timeoutMs: 2_000 });
      }
    }, 120_000);
  });
});
