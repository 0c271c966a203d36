// A librdkafka consumer stays reachable after its disconnect (confluent-kafka-javascript #369),
// with what it was given: before disconnected-client.ts, every closed subscription kept its bus — producers,
// admin, subscriptions — and the cluster's metadata alive (the model soak: 3 GB after 1,000
// histories). A closed bus, and what it handed out, must be collectable; and the client's lock
// storages must be off (before Node 24 each one left in use slows every later promise).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { uniquePrefix, withBroker } from '@omnibus/testing';
import { afterAll, expect, it } from 'vitest';
import { forgetMetadata } from '../src/disconnected-client.js';
import { createKafkaBus } from '../src/index.js';
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

/** How many AsyncLocalStorage stores async_hooks stamps on a new promise (one per storage in use, before Node 24). */
const storesOnANewPromise = () => Object.getOwnPropertySymbols(Promise.resolve()).length;

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
      const bus = await createKafkaBus({
        brokers: [...broker.brokers],
        topicPrefix,
        groupPrefix: topicPrefix,
      });
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

  it('closed subscriptions leave no AsyncLocalStorage of the client in use (every later promise paid for each)', async () => {
    const before = storesOnANewPromise();
    const bus = await createKafkaBus({ brokers: [...broker.brokers], topicPrefix, groupPrefix: topicPrefix });
    for (let i = 0; i < 3; i++) {
      const sub = await bus.subscribe(`stores${i}.>`);
      await bus.publish(`stores${i}.x`, 'x');
      for await (const _ of sub) break;
      await sub.close();
    }
    await bus.close({ timeoutMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(storesOnANewPromise()).toBe(before);
  });

  it('a bus closed from inside a handler (inside the client lock) closes cleanly and leaves no storage in use', async () => {
    const before = storesOnANewPromise();
    const bus = await createKafkaBus({ brokers: [...broker.brokers], topicPrefix, groupPrefix: topicPrefix });
    let closing: Promise<void> | undefined;
    const handled: string[] = [];
    await bus.consume('inside.*', (m) => {
      handled.push(m.text());
      // the handler's context descends from the client's run loop: the disconnect must still wait for it
      closing ??= bus.close({ timeoutMs: 5_000 });
    });
    await bus.publish('inside.x', 'one');
    for (let i = 0; i < 100 && closing === undefined; i++) await new Promise((r) => setTimeout(r, 100));
    await closing;
    expect(handled).toEqual(['one']);
    // a crash inside the client would surface as an unhandled rejection, which fails this run
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(storesOnANewPromise()).toBe(before);
  });
});
