// createEventBusFromEnv with options from code: a logger, a status hook, required capabilities and
// per-backend adapter options (a connection included), merged with OMNIBUS_URL by one rule — each
// option comes from one place — and errors that name where the culprit was written.

import confluent from '@confluentinc/kafka-javascript';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ConfigError, type EventBus, type Logger } from '@omnibus/core';
import { uniqueName, withBroker } from '@omnibus/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEventBusFromEnv, type EventBusFromEnvOptions } from '../src/index.js';

let bus: EventBus | undefined;
afterEach(async () => {
  await bus?.close();
  bus = undefined;
  vi.restoreAllMocks();
});

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (line) => lines.push(line) };
}

async function failure(options: EventBusFromEnvOptions): Promise<ConfigError> {
  return createEventBusFromEnv(options).then(
    async (created) => {
      await created.close();
      throw new Error('expected a rejection');
    },
    (e) => e as ConfigError,
  );
}

/** Dead-letters one message on `bus` and waits until the logger has reported it. */
async function deadLetterOne(target: EventBus, logger: { lines: string[] }, subject: string): Promise<void> {
  const consumer = await target.consume(
    subject,
    () => {
      throw new Error('handler failed');
    },
    { maxAttempts: 1 },
  );
  await target.publish(subject, 'x');
  await vi.waitFor(() => expect(logger.lines.join('\n')).toContain(subject), { timeout: 10_000 });
  await consumer.close();
}

describe('createEventBusFromEnv with options from code (memory)', () => {
  it('dead-letter warnings go to the logger from code, not to console.warn', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const logger = recordingLogger();
    bus = await createEventBusFromEnv({ env: { OMNIBUS_URL: 'memory://' }, logger });
    await deadLetterOne(bus, logger, 'orders.created');
    expect(logger.lines.join('\n')).toMatch(/dead-letter/i);
    expect(warn).not.toHaveBeenCalled();
  });

  it('the block of the selected backend merges with the URL parameters; the other blocks are not used', async () => {
    bus = await createEventBusFromEnv({
      env: { OMNIBUS_URL: 'memory://?maxBuffered=5', OMNIBUS_REQUIRE: 'groups' },
      require: { replay: true },
      onStatus: () => undefined, // the memory bus has no connection: accepted, never called
      memory: { history: true },
      nats: { streamPrefix: 'NEVER_USED' },
    });
    expect(bus.capabilities.replay).toBe(true);
  });

  it('an option set both by OMNIBUS_URL and by code is a ConfigError naming the parameter', async () => {
    const error = await failure({ env: { OMNIBUS_URL: 'memory://?history=10' }, memory: { history: true } });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.field).toBe('OMNIBUS_URL.history');
    expect(error.message).toContain('also set as memory.history');
  });

  it('requirements from code and from OMNIBUS_REQUIRE add up', async () => {
    const error = await failure({ env: { OMNIBUS_REQUIRE: 'groups' }, require: { replay: true } });
    expect(error.field).toBe('require.replay');
  });

  it('errors name where the culprit was written: a block, the URL, the options themselves', async () => {
    // @ts-expect-error histroy is not a memory option
    const inBlock = await failure({ env: {}, memory: { histroy: true } });
    expect(inBlock.field).toBe('memory.histroy');
    expect(inBlock.message).toContain('did you mean "history"');
    const range = await failure({ env: { OMNIBUS_URL: 'memory://?maxBuffered=0' } });
    expect(range.field).toBe('OMNIBUS_URL.maxBuffered'); // refused by the adapter, named after the parameter
    // @ts-expect-error loger is not an option
    const top = await failure({ loger: console });
    expect(top.field).toBe('loger');
    expect(top.message).toContain('did you mean "logger"');
    // @ts-expect-error the server comes from OMNIBUS_URL
    const url = await failure({ env: { OMNIBUS_URL: 'nats://127.0.0.1:1' }, nats: { url: 'nats://x:4222' } });
    expect(url.field).toBe('nats.url');
  });

  it('the older form, an environment object, still works', async () => {
    bus = await createEventBusFromEnv({ OMNIBUS_URL: 'memory://?history=1' });
    expect(bus.capabilities.replay).toBe(true);
  });
});

describe('URL parameter errors through the factory: OMNIBUS_URL.<parameter>, with a "did you mean"', () => {
  const quick = { connectTimeoutMs: 300 };
  it.each([
    ['nats://127.0.0.1:1?strem=A:a', 'OMNIBUS_URL.strem', 'did you mean "stream"'],
    ['nats://127.0.0.1:1?stream=ALL:>', 'OMNIBUS_URL.stream', "would also capture the server's own subjects"],
    ['memory://?histroy=1', 'OMNIBUS_URL.histroy', 'did you mean "history"'],
    ['redis://127.0.0.1:1?keyprefix=x', 'OMNIBUS_URL.keyprefix', 'did you mean "keyPrefix"'],
    ['redis://127.0.0.1:1?blockMs=abc', 'OMNIBUS_URL.blockMs', 'must be an integer'],
    ['redis://127.0.0.1:1?blockMs=1', 'OMNIBUS_URL.blockMs', 'must be an integer ≥ 10'],
    ['kafka://127.0.0.1:1?topicprefix=x', 'OMNIBUS_URL.topicprefix', 'did you mean "topicPrefix"'],
  ])('%s → %s', async (url, field, text) => {
    const error = await failure({ env: { OMNIBUS_URL: url }, redis: quick, kafka: quick, nats: quick });
    expect(error.code).toBe('CONFIG');
    expect(error.field).toBe(field);
    expect(error.message).toContain(`${field}: `);
    expect(error.message).toContain(text);
  });

  it('Redis and Kafka refuse a parameter whose option the code also sets', async () => {
    const redis = await failure({
      env: { OMNIBUS_URL: 'redis://127.0.0.1:1?keyPrefix=a' },
      redis: { keyPrefix: 'b', ...quick },
    });
    expect(redis.field).toBe('OMNIBUS_URL.keyPrefix');
    const kafka = await failure({
      env: { OMNIBUS_URL: 'kafka://127.0.0.1:1?numPartitions=2' },
      kafka: { topics: { numPartitions: 3 }, ...quick },
    });
    expect(kafka.field).toBe('OMNIBUS_URL.numPartitions');
  });

  it('logger and onStatus reach the adapter (a wrong onStatus is refused by it)', async () => {
    const error = await failure({
      env: { OMNIBUS_URL: 'redis://127.0.0.1:1' },
      onStatus: 'not a function' as never,
      redis: quick,
    });
    expect(error.field).toBe('onStatus');
  });

  it('a connection from code with a server in OMNIBUS_URL is a ConfigError: the URL would be ignored', async () => {
    const error = await failure({
      env: { OMNIBUS_URL: 'nats://127.0.0.1:4222' },
      nats: { connection: {} as never },
    });
    expect(error.field).toBe('OMNIBUS_URL');
    expect(error.hint).toContain('OMNIBUS_URL=nats://');
  });

  it('a connection from code with the scheme alone is used (kafka:// names no broker, and needs none)', async () => {
    const { Kafka, logLevel } = confluent.KafkaJS;
    const kafka = new Kafka({ kafkaJS: { brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING } });
    const error = await createEventBusFromEnv({
      env: { OMNIBUS_URL: 'kafka://' },
      kafka: { kafka, connectTimeoutMs: 300 },
    }).then(
      () => undefined,
      (e: { code?: string }) => e,
    );
    expect(error?.code).toBe('CONNECTION'); // got as far as the code's client, which has no broker
  });
});

await withBroker('nats', (broker) => {
  it('NATS: a connection, options and a logger from code, the backend from OMNIBUS_URL', async () => {
    const nc = await connect({ servers: broker.url });
    const logger = recordingLogger();
    const statuses: string[] = [];
    const streamPrefix = uniqueName('FROMENV').replace(/[^A-Za-z0-9_-]/g, '_');
    try {
      bus = await createEventBusFromEnv({
        env: { OMNIBUS_URL: 'nats://' },
        logger,
        onStatus: (status) => statuses.push(status.type),
        nats: { connection: nc, streamPrefix, streamDefaults: { storage: 'memory' } },
      });
      expect(bus.backend).toBe('nats');
      await deadLetterOne(bus, logger, 'fromenv.created');
      const created = [...(bus as EventBus & { createdStreams: readonly string[] }).createdStreams];
      expect(created.every((name) => name.startsWith(streamPrefix))).toBe(true);
      await bus.close();
      bus = undefined;
      expect(nc.isClosed()).toBe(false); // the code's connection stays the code's
      const jsm = await jetstreamManager(nc);
      for (const name of created) await jsm.streams.delete(name);
    } finally {
      await nc.close();
    }
  });
});
