import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { PublishError } from '@omnibus/core';
import { storedIds, uniqueName, withBroker } from '@omnibus/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '../src/index.js';
import { deleteStreams } from './nats-server.js';

await withBroker('nats', (broker) => {
  const streams = new Set<string>();
  afterAll(() => deleteStreams(broker.url, streams));

  describe('publishBatch with a failure in the middle', () => {
    it('accepted is the stored prefix, maybeStored the later entries stored, the refused entry is not stored, order is kept', async () => {
      // a stream whose messages may not exceed 512 bytes: entry 3 (2 KiB) is refused by the server,
      // the entries around it are not
      const ok = uniqueName('bok');
      const small = uniqueName('bsmall');
      const smallStream = uniqueName('BSMALL');
      const nc = await connect({ servers: broker.url });
      await (await jetstreamManager(nc)).streams.add({
        name: smallStream,
        subjects: [`${small}.>`],
        max_msg_size: 512,
      });
      await nc.close();
      streams.add(smallStream);
      const bus = await createNatsBus({ url: broker.url, streamPrefix: uniqueName('BATCH') });
      const entries = [
        { subject: `${ok}.x`, payload: 'a0', id: uniqueName('e0') },
        { subject: `${ok}.x`, payload: 'a1', id: uniqueName('e1') },
        { subject: `${small}.x`, payload: 'b2', id: uniqueName('e2') },
        { subject: `${small}.x`, payload: 'x'.repeat(2048), id: uniqueName('e3') },
        { subject: `${ok}.x`, payload: 'a4', id: uniqueName('e4') },
        { subject: `${small}.x`, payload: 'b5', id: uniqueName('e5') },
        { subject: `${ok}.x`, payload: 'a6', id: uniqueName('e6') },
      ];
      try {
        const error = await bus.publishBatch(entries).catch((e) => e);
        for (const s of bus.createdStreams) streams.add(s);
        expect(error).toBeInstanceOf(PublishError);
        expect(error.message).toContain('failed at entry 3 of 7');
        expect(error.accepted.map((r: { id: string }) => r.id)).toEqual(entries.slice(0, 3).map((e) => e.id));
        // the server refused entry 3 (not stored); 4, 5 and 6 were acknowledged after it
        expect(error.maybeStored).toEqual([4, 5, 6]);
        const id = (i: number) => entries[i]?.id;
        // read back: each subject holds its entries in batch order, entry 3 nowhere
        expect(await storedIds(bus, `${ok}.*`, 4)).toEqual([id(0), id(1), id(4), id(6)]);
        expect(await storedIds(bus, `${small}.*`, 2)).toEqual([id(2), id(5)]);

        // publishing the rest again with the same ids: the stored ones are duplicates, nothing is stored twice
        const again = await bus
          .publishBatch([
            ...entries.slice(4),
            { subject: `${small}.x`, payload: 'b3', id: uniqueName('e3b') },
          ])
          .catch((e) => e);
        expect(again.map((r: { duplicate: boolean }) => r.duplicate)).toEqual([true, true, true, false]);
        expect(await storedIds(bus, `${ok}.*`, 4)).toEqual([id(0), id(1), id(4), id(6)]);
      } finally {
        await bus.close();
      }
    }, 60_000);

    it('a batch whose stream was deleted from outside is sent again as a whole, in order, once', async () => {
      const token = uniqueName('bgone');
      const bus = await createNatsBus({ url: broker.url, streamPrefix: uniqueName('BGONE') });
      try {
        await bus.publish(`${token}.x`, 'first');
        for (const s of bus.createdStreams) streams.add(s);
        const [stream] = bus.createdStreams;
        const nc = await connect({ servers: broker.url });
        await (await jetstreamManager(nc)).streams.delete(stream as string);
        await nc.close();
        // every entry finds no stream; the driver provisions it again and sends them all again, in order
        const entries = Array.from({ length: 50 }, (_, i) => ({
          subject: `${token}.x`,
          payload: `${i}`,
          ...(i % 2 === 0 ? { id: uniqueName(`g${i}`) } : {}),
        }));
        const receipts = await bus.publishBatch(entries);
        expect(receipts.every((r) => !r.duplicate)).toBe(true);
        expect(receipts.map((r) => r.sequence)).toEqual(entries.map((_, i) => `${stream}:${i + 1}`));
        expect(await storedIds(bus, `${token}.*`, 50)).toEqual(receipts.map((r) => r.id));
        // the same for a single publish: the stream is provisioned again, not waited on until the timeout
        const again = await connect({ servers: broker.url });
        await (await jetstreamManager(again)).streams.delete(stream as string);
        await again.close();
        const started = Date.now();
        expect((await bus.publish(`${token}.x`, 'after')).sequence).toBe(`${stream}:1`);
        expect(Date.now() - started).toBeLessThan(2_000);
      } finally {
        await bus.close();
      }
    }, 60_000);
  });
});
