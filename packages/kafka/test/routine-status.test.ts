import { uniqueName, withBroker } from '@omnibus/testing';
import { afterAll, expect, it } from 'vitest';
import { createKafkaBus } from '../src/index.js';
import { deleteTopics } from './kafka-admin.js';

// onStatus is what an operator watches: a healthy run, and a failed start, report no client
// errors or warnings (librdkafka's routine lines — the idempotent producer retrying for its
// producer id while the coordinator loads — and lines after the client was released)
await withBroker('kafka', (broker) => {
  const topicPrefix = `${uniqueName('routine')}.`;
  afterAll(() => deleteTopics([...broker.brokers], topicPrefix));

  it('a healthy publish and consume report no client_error or client_warning', async () => {
    const statuses: string[] = [];
    const options = {
      brokers: [...broker.brokers],
      topicPrefix,
      onStatus: (s: { type: string; detail?: string }) => statuses.push(`${s.type}: ${s.detail ?? ''}`),
    };
    const bus = await createKafkaBus(options);
    const other = await createKafkaBus(options); // a second member creating the same topics
    let got!: () => void;
    const done = new Promise<void>((resolve) => {
      got = resolve;
    });
    await bus.consume('orders.*.created', () => got());
    await other.publish('orders.eu.created', 'x');
    await done;
    await other.close();
    await bus.close();
    expect(statuses.filter((s) => /^client_(error|warning)/.test(s))).toEqual([]);
  }, 60_000);

  it('a failed start reports only what made it fail', async () => {
    const statuses: string[] = [];
    // the Redis port: answers, but not as Kafka
    const error = await createKafkaBus({
      brokers: ['127.0.0.1:6379'],
      onStatus: (s) => statuses.push(`${s.type}: ${s.detail ?? ''}`),
    }).catch((e) => e);
    expect(error.message).toContain('not as a Kafka broker');
    expect(statuses.filter((s) => s.includes('its client is released'))).toEqual([]);
  }, 30_000);
});
