// The memory bus's management figures and dead-letter store, as a broker would give them.
import { manage } from '@omnibus/core';
import { waitFor } from '@omnibus/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBus, type MemoryBus } from '../src/index.js';

let bus: MemoryBus;
afterEach(async () => {
  await bus?.close({ timeoutMs: 1_000 });
});

describe('groups(): pending and redelivered as NATS and Redis count them', () => {
  it('a nakked message waiting for its redelivery is pending (not lag); redelivered once it was delivered again', async () => {
    bus = createMemoryBus();
    const attempts: number[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await bus.consume(
      'fig.x',
      async (m) => {
        attempts.push(m.attempt);
        if (m.attempt === 1) throw new Error('first time');
        await held; // the second attempt stays in flight
      },
      { group: 'g', backoff: 300 },
    );
    await bus.publish('fig.x', 'a');
    const figures = async () => {
      const [g] = await manage(bus).groups();
      return { lag: g?.lag, pending: g?.pending, redelivered: g?.redelivered };
    };
    await waitFor(() => attempts.length === 1, 'the first attempt');
    // waiting for its backoff: delivered once and not settled
    expect(await figures()).toEqual({ lag: 0, pending: 1, redelivered: 0 });
    await waitFor(() => attempts.length === 2, 'the redelivery', 5_000);
    expect(await figures()).toEqual({ lag: 0, pending: 1, redelivered: 1 });
    release();
    await waitFor(async () => (await figures()).pending === 0, 'settled');
    expect(await figures()).toEqual({ lag: 0, pending: 0, redelivered: 0 });
  });
});

describe('dead letters', () => {
  it('with a history on, ordinary traffic does not push dead letters out of reach', async () => {
    bus = createMemoryBus({ history: { maxMessages: 100 } });
    await bus.consume(
      'dl.x',
      () => {
        throw new Error('boom');
      },
      { maxAttempts: 1 },
    );
    await bus.publish('dl.x', 'poison');
    const admin = manage(bus);
    await waitFor(async () => (await admin.deadLetters.list()).items.length === 1, 'dead-lettered');
    for (let i = 0; i < 150; i++) await bus.publish('traffic.y', String(i));
    const [dl] = (await admin.deadLetters.list()).items;
    expect(dl?.error).toContain('boom');
    // purged: gone from the dead letters and from the history a replay reads
    await admin.deadLetters.purge({ refs: [dl?.ref as string] });
    expect((await admin.deadLetters.list()).items).toEqual([]);
    const replay = await bus.subscribe('dlq.>', { from: 'earliest' });
    const seen: string[] = [];
    const reading = (async () => {
      for await (const m of replay) seen.push(m.subject);
    })();
    await bus.publish('dlq.dl.x', 'marker');
    await waitFor(() => seen.length >= 1, 'the marker');
    expect(seen).toEqual(['dlq.dl.x']);
    await replay.close();
    await reading;
  });
});
