// A librdkafka consumer stays reachable after its disconnect (confluent-kafka-javascript #369),
// with what it was given: before severable.ts, every closed subscription kept its bus — producers,
// admin, subscriptions — and the cluster's metadata alive (the model soak: 3 GB after 1,000
// histories). A closed bus, and what it handed out, must be collectable.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { uniquePrefix, withBroker } from '@omnibus/testing';
import { afterAll, expect, it } from 'vitest';
import { createKafkaBus } from '../src/index.js';
import { forgetMetadata } from '../src/severable.js';
import { deleteTopics } from './kafka-admin.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const collected = async (ref: WeakRef<object>) => {
  for (let i = 0; i < 20 && ref.deref() !== undefined; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    gc();
  }
  return ref.deref() === undefined;
};

it('forgetMetadata drops what a client keeps, and leaves anything else alone', () => {
  const internal = { _metadata: { topics: [{ name: 'a' }] } };
  forgetMetadata({ _getInternalClient: () => internal });
  expect(internal._metadata).toEqual({});
  expect(() => forgetMetadata({})).not.toThrow();
  expect(() =>
    forgetMetadata({
      _getInternalClient: () => {
        throw new Error('gone');
      },
    }),
  ).not.toThrow();
});

await withBroker('kafka', async (broker) => {
  const topicPrefix = `omnibus-collected-${uniquePrefix()}.`;
  afterAll(() => deleteTopics([...broker.brokers], topicPrefix));

  it('a closed bus whose subscriptions read is collected', async () => {
    const refs = await (async () => {
      const bus = await createKafkaBus({ brokers: [...broker.brokers], topicPrefix, groupPrefix: topicPrefix });
      // a grouped consumer and an ungrouped subscription: each its own librdkafka consumer
      const handled: string[] = [];
      const consumer = await bus.consume(
        'gone.*',
        (m) => {
          handled.push(m.text());
        },
        { group: 'g' },
      );
      const sub = await bus.subscribe('gone.>');
      await bus.publish('gone.x', 'one');
      for await (const m of sub) {
        expect(m.text()).toBe('one');
        break;
      }
      for (let i = 0; i < 100 && handled.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(handled).toEqual(['one']);
      await consumer.close();
      await bus.close({ timeoutMs: 5_000 });
      return { bus: new WeakRef(bus), consumer: new WeakRef(consumer), sub: new WeakRef(sub) };
    })();
    expect(await collected(refs.sub)).toBe(true);
    expect(await collected(refs.consumer)).toBe(true);
    expect(await collected(refs.bus)).toBe(true);
  });
});
