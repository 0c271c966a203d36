import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { Connection } from 'rabbitmq-client';
import { describe, expect, it } from 'vitest';
import { brokerImage, defaultBrokerImages, resolveBroker, uniqueName, withBroker } from '../src/index.js';

describe('broker resolution', () => {
  it('prefers the env var and normalises it', async () => {
    const nats = await resolveBroker('nats', { env: { NATS_URL: '127.0.0.1:4222' }, useContainers: false });
    expect(nats).toMatchObject({
      available: true,
      url: 'nats://127.0.0.1:4222',
      brokers: ['127.0.0.1:4222'],
      source: 'env',
    });
    const kafka = await resolveBroker('kafka', {
      env: { KAFKA_BROKERS: 'a:9092, b:9092' },
      useContainers: false,
    });
    expect(kafka).toMatchObject({ url: 'kafka://a:9092,b:9092', brokers: ['a:9092', 'b:9092'] });
  });

  it('explains a missing broker by naming the variable to set', async () => {
    const broker = await resolveBroker('redis', { env: {}, useContainers: false });
    expect(broker.available).toBe(false);
    if (!broker.available) expect(broker.reason).toContain('set REDIS_URL');
  });

  it('fails instead of skipping under CI=true', async () => {
    await expect(resolveBroker('kafka', { env: { CI: 'true' }, useContainers: false })).rejects.toThrow(
      /CI=true.*set KAFKA_BROKERS/,
    );
  });

  it('takes container images from OMNIBUS_TEST_*_IMAGE, else the official ones', () => {
    expect(defaultBrokerImages).toEqual({
      nats: 'nats:2.10-alpine',
      redis: 'redis:7-alpine',
      kafka: 'apache/kafka:3.9.1',
      rabbitmq: 'rabbitmq:3.10',
    });
    expect(brokerImage('rabbitmq', { OMNIBUS_TEST_RABBITMQ_IMAGE: 'omnibus-local/rabbitmq:3.10' })).toBe(
      'omnibus-local/rabbitmq:3.10',
    );
    expect(brokerImage('kafka', {})).toBe('apache/kafka:3.9.1');
    expect(brokerImage('nats', { OMNIBUS_TEST_NATS_IMAGE: ' omnibus-local/nats:2.9 ' })).toBe(
      'omnibus-local/nats:2.9',
    );
    expect(brokerImage('redis', { OMNIBUS_TEST_REDIS_IMAGE: '' })).toBe('redis:7-alpine');
  });

  it('makes names unique and broker-safe', () => {
    const names = new Set(Array.from({ length: 500 }, () => uniqueName('smoke')));
    expect(names.size).toBe(500);
    for (const n of names) expect(n).toMatch(/^smoke_[a-z0-9]+$/);
  });
});

await withBroker('nats', (broker) => {
  it('nats smoke: create a stream, write and read one message with the raw client, clean up', async () => {
    const nc = await connect({ servers: broker.url });
    const jsm = await jetstreamManager(nc);
    const stream = uniqueName('SMOKE');
    const subject = `${stream}.hello`;
    try {
      await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
      const ack = await jetstream(nc).publish(subject, 'hi nats');
      expect(ack.seq).toBe(1);
      const consumer = await jetstream(nc).consumers.get(stream);
      const m = await consumer.next({ expires: 5_000 });
      expect(m?.subject).toBe(subject);
      expect(m?.string()).toBe('hi nats');
    } finally {
      await jsm.streams.delete(stream).catch(() => false);
      await nc.close();
    }
    const names: string[] = [];
    const nc2 = await connect({ servers: broker.url });
    for await (const name of (await jetstreamManager(nc2)).streams.names()) names.push(name);
    await nc2.close();
    expect(names).not.toContain(stream);
  });
});

await withBroker('redis', (broker) => {
  it('redis smoke: write and read one stream entry with the raw client, clean up', async () => {
    const redis = new Redis(broker.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    const key = uniqueName('smoke');
    try {
      const id = await redis.xadd(key, '*', 'payload', 'hi redis');
      const entries = await redis.xrange(key, '-', '+');
      expect(entries).toEqual([[id, ['payload', 'hi redis']]]);
    } finally {
      await redis.del(key);
      expect(await redis.exists(key)).toBe(0);
      await redis.quit();
    }
  });
});

await withBroker('kafka', (broker) => {
  it('kafka smoke: create a topic, write and read one record with the raw client, clean up', async () => {
    const kafka = new Kafka({
      clientId: 'omnibus-smoke',
      brokers: [...broker.brokers],
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    const producer = kafka.producer();
    const topic = uniqueName('smoke');
    const consumer = kafka.consumer({ groupId: uniqueName('smoke-group') });
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'k', value: 'hi kafka' }] });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const value = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no record within 30 s')), 30_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            clearTimeout(timer);
            resolve(message.value?.toString() ?? '');
          },
        });
      });
      expect(value).toBe('hi kafka');
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      expect(await admin.listTopics()).not.toContain(topic);
      await admin.disconnect();
    }
  }, 90_000);
});

await withBroker('rabbitmq', (broker) => {
  it('rabbitmq smoke: declare a queue, write and read one message with the raw client, clean up', async () => {
    const connection = new Connection({ url: broker.url, retryLow: 100, retryHigh: 1_000 });
    const queue = uniqueName('smoke');
    try {
      await connection.queueDeclare({ queue, exclusive: true });
      const publisher = connection.createPublisher({ confirm: true });
      await publisher.send({ routingKey: queue }, 'hi rabbitmq');
      await publisher.close();
      const got = await connection.basicGet({ queue, noAck: true });
      expect(got?.body?.toString()).toBe('hi rabbitmq');
      await connection.queueDelete({ queue });
      await expect(connection.queueDeclare({ queue, passive: true })).rejects.toThrow(/NOT_FOUND/);
    } finally {
      await connection.close();
    }
  }, 60_000);
});
