// librdkafka's fetches each hold a thread of libuv's pool while they wait: as many consumers as
// threads and everything else queues behind them. The first time a process's consumers fill
// the pool, the bus says so once, with the remedy (UV_THREADPOOL_SIZE).
import { uniquePrefix, withBroker } from '@omnibus/testing';
import { afterAll, expect, it } from 'vitest';
import { createKafkaBus } from '../src/index.js';
import { threadPoolSize } from '../src/thread-pool.js';
import { deleteTopics } from './kafka-admin.js';

it('the pool size is 4 unless UV_THREADPOOL_SIZE says (at most 1024)', () => {
  const before = process.env.UV_THREADPOOL_SIZE;
  try {
    delete process.env.UV_THREADPOOL_SIZE;
    expect(threadPoolSize()).toBe(4);
    process.env.UV_THREADPOOL_SIZE = '16';
    expect(threadPoolSize()).toBe(16);
    process.env.UV_THREADPOOL_SIZE = '5000';
    expect(threadPoolSize()).toBe(1024);
    process.env.UV_THREADPOOL_SIZE = 'lots';
    expect(threadPoolSize()).toBe(4);
  } finally {
    if (before === undefined) delete process.env.UV_THREADPOOL_SIZE;
    else process.env.UV_THREADPOOL_SIZE = before;
  }
});

await withBroker('kafka', async (broker) => {
  const topicPrefix = `omnibus-pool-${uniquePrefix()}.`;
  afterAll(() => deleteTopics([...broker.brokers], topicPrefix));

  it('consumers that fill the thread pool: one warning naming UV_THREADPOOL_SIZE, then no more', async () => {
    const warnings: string[] = [];
    const logger = {
      warn: (line: string) => warnings.push(line),
      info: () => undefined,
      error: () => undefined,
    };
    const bus = await createKafkaBus({
      brokers: [...broker.brokers],
      topicPrefix,
      groupPrefix: topicPrefix,
      logger,
    });
    try {
      const size = threadPoolSize();
      const subs = [];
      for (let i = 0; i < size - 1; i++) subs.push(await bus.subscribe(`pool.s${i}`));
      expect(warnings.filter((w) => w.includes('UV_THREADPOOL_SIZE'))).toEqual([]);
      subs.push(await bus.subscribe('pool.last'));
      subs.push(await bus.subscribe('pool.more'));
      const about = warnings.filter((w) => w.includes('UV_THREADPOOL_SIZE'));
      expect(about).toHaveLength(1);
      expect(about[0]).toMatch(
        /^\[omnibus:kafka\] \d+ Kafka consumers in this process and libuv's thread pool has \d+ threads/,
      );
      for (const s of subs) await s.close();
    } finally {
      await bus.close({ timeoutMs: 5_000 });
    }
  }, 60_000);
});
