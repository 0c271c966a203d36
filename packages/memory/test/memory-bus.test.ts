import {
  BackpressureError,
  ConfigError,
  DLQ_HEADERS,
  formatError,
  type Message,
  TimeoutError,
} from '@omnibus/core';
import { reader, waitFor } from '@omnibus/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBus, type DropInfo, type MemoryBus } from '../src/index.js';

let bus: MemoryBus;

/** What `promise` rejected with (a resolution fails the test). */
function failure<E>(promise: Promise<unknown>): Promise<E> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: E) => error,
  );
}
afterEach(async () => {
  await bus?.close({ timeoutMs: 1_000 });
});

describe('publishAndWait', () => {
  it('returns the errors of every matching handler, across subscriptions and attempts', async () => {
    bus = createMemoryBus();
    await bus.consume(
      'orders.*',
      () => {
        throw new Error('billing down');
      },
      { group: 'billing', maxAttempts: 2, backoff: 0 },
    );
    await bus.consume('orders.>', () => {}, { group: 'audit' });
    await bus.consume(
      'orders.created',
      (m) => {
        if (m.attempt === 1) throw new Error('flaky');
      },
      { backoff: 0 },
    );
    const { receipt, errors } = await bus.publishAndWait('orders.created', 'x');
    expect(receipt.duplicate).toBe(false);
    const summary = errors
      .map((e) => `${e.group ?? e.pattern}#${e.attempt}:${(e.error as Error).message}`)
      .sort();
    expect(summary).toEqual(['billing#1:billing down', 'billing#2:billing down', 'orders.created#1:flaky']);
  });

  it('resolves at once when nothing matches, and with no errors when all succeed', async () => {
    bus = createMemoryBus();
    expect((await bus.publishAndWait('nobody.listens', 'x')).errors).toEqual([]);
    let handled = false;
    await bus.consume('a', async () => {
      await new Promise((r) => setTimeout(r, 20));
      handled = true;
    });
    expect((await bus.publishAndWait('a', 'x')).errors).toEqual([]);
    expect(handled).toBe(true);
  });

  it('times out with TimeoutError when a subscriber never settles', async () => {
    bus = createMemoryBus();
    await bus.subscribe('stuck', { ack: 'manual' });
    await expect(bus.publishAndWait('stuck', 'x', { timeoutMs: 50 })).rejects.toBeInstanceOf(TimeoutError);
  });
});

describe('bounded buffers', () => {
  it('block (default): a full buffer makes publish wait, then rejects with BackpressureError sending nothing', async () => {
    bus = createMemoryBus({ maxBuffered: 2, blockTimeoutMs: 50 });
    const slow = await bus.subscribe('lag', { ack: 'manual', maxInFlight: 1 });
    const fast = reader(await bus.subscribe('lag'));
    for (let i = 0; i < 3; i++) await bus.publish('lag', String(i)); // 1 in flight + 2 buffered
    await expect(bus.publish('lag', 'overflow')).rejects.toBeInstanceOf(BackpressureError);
    expect((await fast.take(3)).map((m) => m.text())).toEqual(['0', '1', '2']);
    expect(await fast.nothingWithin(50)).toBeUndefined(); // "overflow" reached nobody
    expect(bus.stats().published).toBe(3);
    await slow.close();
  });

  it('block: publish resumes as soon as the subscriber catches up', async () => {
    bus = createMemoryBus({ maxBuffered: 1 });
    const r = reader(await bus.subscribe('x', { ack: 'manual', maxInFlight: 1 }));
    await bus.publish('x', '0');
    await bus.publish('x', '1');
    const pending = bus.publish('x', '2');
    const first = await r.next();
    await first.ack();
    await expect(pending).resolves.toMatchObject({ duplicate: false });
  });

  it.each(['drop-oldest', 'drop-newest'] as const)('%s drops, counts and reports', async (policy) => {
    const drops: DropInfo[] = [];
    bus = createMemoryBus({ maxBuffered: 2, overflow: policy, onDrop: (d) => drops.push(d) });
    const r = reader(await bus.subscribe('x', { ack: 'manual', maxInFlight: 1 }));
    for (let i = 0; i < 5; i++) await bus.publish('x', String(i));
    // 0 is in flight; buffer of 2 holds the survivors
    expect(bus.stats().dropped).toBe(2);
    expect(drops.map((d) => d.policy)).toEqual([policy, policy]);
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await r.next();
      got.push(m.text());
      await m.ack();
    }
    expect(got).toEqual(policy === 'drop-oldest' ? ['0', '3', '4'] : ['0', '1', '2']);
  });

  it('a group whose members all left never blocks publishers: it keeps its newest messages, counted and logged once', async () => {
    const warnings: string[] = [];
    const drops: DropInfo[] = [];
    bus = createMemoryBus({
      maxBuffered: 100,
      blockTimeoutMs: 30_000,
      onDrop: (d) => drops.push(d),
      logger: { warn: (line: string) => warnings.push(line) },
    });
    const member = await bus.consume('feed.*', () => {}, { group: 'billing' });
    await member.close();
    const live = await bus.subscribe('feed.*');
    let got = 0;
    const reading = (async () => {
      for await (const _ of live) if (++got === 1_000) break;
    })();
    let slowest = 0;
    for (let i = 0; i < 1_000; i++) {
      const started = performance.now();
      await bus.publish('feed.x', String(i));
      slowest = Math.max(slowest, performance.now() - started);
    }
    await reading;
    expect(got).toBe(1_000); // the live subscriber got everything
    expect(slowest).toBeLessThan(1_000); // no publish waited for the group nobody reads (it used to block for blockTimeoutMs)
    expect(bus.stats().dropped).toBe(900);
    expect(drops[0]).toMatchObject({
      group: 'billing',
      policy: 'drop-oldest',
      reason: 'group-without-members',
    });
    expect(warnings.filter((w) => w.includes('"billing"'))).toHaveLength(1);
    // a member that comes back gets the newest 100, oldest first
    const back = reader(await bus.subscribe('feed.*', { group: 'billing' }));
    const kept = await back.take(100);
    expect(kept.map((m) => m.text())).toEqual(Array.from({ length: 100 }, (_, i) => String(900 + i)));
  });
});

describe('memory specifics', () => {
  it('redelivers a message whose ack timed out, with attempt + 1', async () => {
    bus = createMemoryBus();
    const r = reader(await bus.subscribe('t', { ack: 'manual', ackTimeoutMs: 30 }));
    await bus.publish('t', 'x');
    const first = await r.next();
    const again = await r.next();
    expect(again.id).toBe(first.id);
    expect(again.attempt).toBe(2);
    await first.ack(); // stale: ignored
    await again.ack();
    expect(await r.nothingWithin(60)).toBeUndefined();
  });

  it('dead-letters a message redelivered past maxAttempts by ack timeouts', async () => {
    bus = createMemoryBus();
    const dlq = reader(await bus.subscribe('dlq.t'));
    const r = reader(await bus.subscribe('t', { ack: 'manual', ackTimeoutMs: 20, maxAttempts: 2 }));
    await bus.publish('t', 'x');
    await r.take(2);
    expect((await dlq.next()).headers[DLQ_HEADERS.reason]).toContain('maxAttempts');
  });

  it('refuses replay without history, and a group with two patterns', async () => {
    bus = createMemoryBus();
    expect(bus.capabilities.replay).toBe(false);
    await expect(bus.subscribe('a', { from: 'earliest' })).rejects.toBeInstanceOf(ConfigError);
    await bus.subscribe('a.*', { group: 'g' });
    await expect(bus.subscribe('b.*', { group: 'g' })).rejects.toMatchObject({
      code: 'CONFIG',
      field: 'group',
    });
  });

  it("from: 'earliest' (or { time }) without history says how to turn history on", async () => {
    bus = createMemoryBus();
    for (const from of ['earliest', { time: 0 }] as const) {
      const error = await failure<ConfigError>(bus.subscribe('a', { from }));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.field).toBe('from');
      expect(error.hint).toContain('createMemoryBus({ history: true })');
      expect(error.hint).toContain('memory://?history=true');
      expect(formatError(error)).toMatch(/\(hint: create the bus with history: .*\)$/);
    }
    // the option named in the hint does enable it
    await bus.close();
    bus = createMemoryBus({ history: true });
    await bus.publish('a', 'kept');
    expect((await reader(await bus.subscribe('a', { from: 'earliest' })).next()).text()).toBe('kept');
  });

  it('a second pattern for a group, a full buffer and a publishAndWait timeout say what to do', async () => {
    bus = createMemoryBus({ maxBuffered: 1, blockTimeoutMs: 0 });
    await bus.subscribe('a.*', { group: 'g' });
    const group = await failure<ConfigError>(bus.subscribe('b.*', { group: 'g' }));
    expect(group.hint).toContain('a group name of its own');
    await bus.subscribe('c', { ack: 'manual', maxInFlight: 1 }); // never read
    for (let i = 0; i < 2; i++) await bus.publish('c', String(i)); // 1 in flight + 1 buffered
    const full = await failure<BackpressureError>(bus.publish('c', 'overflow'));
    expect(full).toBeInstanceOf(BackpressureError);
    expect(full.hint).toContain('maxBuffered');
    await bus.subscribe('d'); // never read either: publishAndWait cannot finish
    const slow = await failure<TimeoutError>(bus.publishAndWait('d', '1', { timeoutMs: 20 }));
    expect(slow).toBeInstanceOf(TimeoutError);
    expect(slow.hint).toContain('raise timeoutMs');
  });

  it('keeps history bounded by count', async () => {
    bus = createMemoryBus({ history: { maxMessages: 3 } });
    for (let i = 0; i < 10; i++) await bus.publish('h', String(i));
    const r = reader(await bus.subscribe('h', { from: 'earliest' }));
    expect((await r.take(3)).map((m) => m.text())).toEqual(['7', '8', '9']);
    expect(await r.nothingWithin(30)).toBeUndefined();
  });

  it('forgets dedupe ids after the window', async () => {
    bus = createMemoryBus({ dedupeWindowMs: 30 });
    expect((await bus.publish('d', 'x', { id: 'same' })).duplicate).toBe(false);
    expect((await bus.publish('d', 'x', { id: 'same' })).duplicate).toBe(true);
    await new Promise((r) => setTimeout(r, 40));
    expect((await bus.publish('d', 'x', { id: 'same' })).duplicate).toBe(false);
  });

  it('copies the payload so the publisher may reuse its buffer', async () => {
    bus = createMemoryBus();
    const r = reader(await bus.subscribe('copy'));
    const buffer = new Uint8Array([1, 2, 3]);
    await bus.publish('copy', buffer);
    buffer[0] = 9;
    expect((await r.next()).payload).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('keeps the event loop responsive while a handler fails with no backoff', async () => {
    bus = createMemoryBus();
    let calls = 0;
    await bus.consume(
      'spin',
      () => {
        calls++;
        throw new Error('always');
      },
      { maxAttempts: 1_000_000, backoff: 0 },
    );
    await bus.publish('spin', 'x');
    const timerFired = await new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 20));
    expect(timerFired).toBe(true);
    expect(calls).toBeGreaterThan(1);
  });

  it('validates its options with ConfigError naming the field', () => {
    expect(() => createMemoryBus({ maxBuffered: 0 })).toThrow(
      expect.objectContaining({ field: 'maxBuffered' }),
    );
    expect(() => createMemoryBus({ overflow: 'explode' as never })).toThrow(
      expect.objectContaining({ field: 'overflow' }),
    );
    expect(() => createMemoryBus({ history: 'yes' as never })).toThrow(
      expect.objectContaining({ field: 'history' }),
    );
    bus = createMemoryBus();
  });

  it('refuses option names it does not know, instead of ignoring a typo', () => {
    // @ts-expect-error a misspelt option is a compile error too
    expect(() => createMemoryBus({ histroy: true })).toThrow(
      expect.objectContaining({ code: 'CONFIG', field: 'histroy', backend: 'memory' }),
    );
    const options: Record<string, unknown> = { maxBufferd: 10 };
    expect(() => createMemoryBus(options)).toThrow(expect.objectContaining({ field: 'maxBufferd' }));
    // @ts-expect-error nested options are checked as well
    expect(() => createMemoryBus({ history: { maxMessage: 5 } })).toThrow(
      expect.objectContaining({ field: 'history.maxMessage' }),
    );
  });

  it('delivers a group backlog to the member that joins later', async () => {
    bus = createMemoryBus();
    const first = await bus.subscribe('g.x', { group: 'late' });
    await first.close();
    for (let i = 0; i < 3; i++) await bus.publish('g.x', String(i));
    const r = reader(await bus.subscribe('g.x', { group: 'late' }));
    expect((await r.take(3)).map((m) => m.text())).toEqual(['0', '1', '2']);
  });

  it('counts a consume loop that keeps working after another subscription throws', async () => {
    bus = createMemoryBus();
    let ok = 0;
    await bus.consume(
      'iso',
      () => {
        throw new Error('bad');
      },
      { maxAttempts: 1 },
    );
    await bus.consume('iso', () => void ok++);
    for (let i = 0; i < 5; i++) await bus.publish('iso', 'x');
    await waitFor(() => ok === 5, 'the healthy consumer');
    await waitFor(() => bus?.stats().deadLettered === 5, 'five dead-letters');
    expect(bus.stats()).toMatchObject({ deadLettered: 5, errors: 5 });
  });
});

describe('the hot path stays safe', () => {
  it('a handler returning a thenable that throws fails that message only: other consumers, here and on another bus, keep flowing', async () => {
    bus = createMemoryBus({ logger: { warn() {}, error() {} } });
    const other = createMemoryBus();
    const errors: unknown[] = [];
    const got: string[] = [];
    await bus.consume(
      'hot.bad',
      () =>
        ({
          // biome-ignore lint/suspicious/noThenProperty: a hostile thenable is the point
          then() {
            throw new Error('bad thenable');
          },
        }) as unknown as Promise<void>,
      { maxAttempts: 1, onError: (error) => errors.push(error) },
    );
    await bus.consume('hot.good', (m) => void got.push(m.text()));
    await other.consume('hot.good', (m) => void got.push(`other ${m.text()}`));
    await bus.publish('hot.bad', 'x');
    await bus.publish('hot.good', '1');
    await other.publish('hot.good', '2');
    await waitFor(() => got.length === 2 && errors.length === 1, 'both good consumers and the error');
    expect(got.sort()).toEqual(['1', 'other 2']);
    expect((errors[0] as Error).message).toBe('bad thenable');
    await other.close();
  });

  it('a delivered message can be logged with JSON.stringify while others are in flight', async () => {
    bus = createMemoryBus();
    const lines: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    await bus.consume('hot.log', async (m) => {
      lines.push(JSON.stringify(m));
      await gate;
    });
    await bus.publishBatch([
      { subject: 'hot.log', payload: 'a', headers: { trace: 't-1' } },
      { subject: 'hot.log', payload: 'bb' },
    ]);
    await waitFor(() => lines.length === 2, 'two logged messages');
    release();
    const first = JSON.parse(lines[0] as string);
    expect(first).toMatchObject({
      subject: 'hot.log',
      attempt: 1,
      headers: { trace: 't-1' },
      payloadBytes: 1,
    });
    expect(typeof first.id).toBe('string');
    expect(new Date(first.publishedAt).getTime()).toBeGreaterThan(0);
  });
});

describe('closing while subscribing', () => {
  it('a subscription aborted before the driver finished subscribing is stopped, not leaked', async () => {
    // a leaked (never stopped) subscription would hold messages and, with a buffer of 1, block publishers
    bus = createMemoryBus({ maxBuffered: 1, blockTimeoutMs: 50 });
    const controller = new AbortController();
    const pending = bus.subscribe('late.abort', { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    const r = reader(await bus.subscribe('late.abort'));
    for (let i = 0; i < 3; i++) await bus.publish('late.abort', String(i));
    expect((await r.take(3)).map((m) => m.text())).toEqual(['0', '1', '2']);
  });
});

describe('logger', () => {
  it('reports a dead-letter at warn level, one line, to the logger given (console by default)', async () => {
    const lines: string[] = [];
    const bus = createMemoryBus({ logger: { warn: (line: string) => lines.push(line) } });
    const consumer = await bus.consume(
      'jobs.poison',
      () => {
        throw new Error('cannot process');
      },
      { maxAttempts: 2, backoff: 0 },
    );
    await bus.publish('jobs.poison', 'x', { id: 'job-1' });
    await waitFor(() => lines.length === 1, 'the dead-letter line');
    expect(lines[0]).toMatch(
      /^\[omnibus:memory\] dead-lettered message job-1 from "jobs.poison" to "dlq.jobs.poison" at attempt 2: failed after 2 attempts — .*cannot process/,
    );
    await consumer.close();
    await bus.close();
  });

  it('a throwing logger never breaks message flow', async () => {
    const bus = createMemoryBus({
      logger: {
        warn: () => {
          throw new Error('logger down');
        },
      },
    });
    const dlq: string[] = [];
    await bus.consume('dlq.jobs.x', (m) => void dlq.push(m.text()));
    await bus.consume('jobs.x', (m) => m.term('no'), {});
    await bus.publish('jobs.x', 'y');
    await waitFor(() => dlq.length === 1, 'the dead-letter');
    expect((await bus.health()).ok).toBe(true);
    await bus.close();
  });
});

describe('at most once', () => {
  const fast = { delivery: 'at-most-once' } as const;

  it('every publish reaches subscribers of both levels, a group of each level too', async () => {
    bus = createMemoryBus();
    const seen: Record<string, string[]> = { fast: [], durable: [], fastGroup: [], durableGroup: [] };
    await bus.consume('mix.*', (m) => void seen.fast?.push(m.text()), fast);
    await bus.consume('mix.*', (m) => void seen.durable?.push(m.text()));
    await bus.consume('mix.*', (m) => void seen.fastGroup?.push(m.text()), { ...fast, group: 'g' });
    await bus.consume('mix.*', (m) => void seen.durableGroup?.push(m.text()), { group: 'g' });
    await bus.publish('mix.a', 'durable');
    await bus.publish('mix.a', 'fast', fast);
    await bus.publishBatch([{ subject: 'mix.b', payload: 'batch', delivery: 'at-most-once' }]);
    await waitFor(() => Object.values(seen).every((s) => s.length === 3), 'every subscriber has all three');
    // an at-most-once group and an at-least-once group of the same name are two groups
    expect(seen).toEqual({
      fast: ['durable', 'fast', 'batch'],
      durable: ['durable', 'fast', 'batch'],
      fastGroup: ['durable', 'fast', 'batch'],
      durableGroup: ['durable', 'fast', 'batch'],
    });
  });

  it('an at-most-once publish never waits, even for a full subscriber on a blocking bus', async () => {
    bus = createMemoryBus({ maxBuffered: 2, overflow: 'block', blockTimeoutMs: 200 });
    const sub = await bus.subscribe('full.x', { maxInFlight: 1 }); // at least once, never read
    for (let i = 0; i < 3; i++) await bus.publish('full.x', `m${i}`);
    const started = Date.now();
    await bus.publish('full.x', 'fast', fast);
    expect(Date.now() - started).toBeLessThan(100);
    await expect(bus.publish('full.x', 'blocked')).rejects.toBeInstanceOf(BackpressureError);
    await sub.close();
  });

  it("stats().dropped adds an at-most-once subscriber's skips to the bus's own overflow drops", async () => {
    bus = createMemoryBus({ maxBuffered: 1, overflow: 'drop-newest' });
    const durable = await bus.subscribe('drop.x', { maxInFlight: 1 });
    const quick = await bus.subscribe('drop.x', { ...fast, maxInFlight: 2 });
    for (let i = 0; i < 6; i++) await bus.publish('drop.x', `m${i}`);
    await waitFor(() => bus.stats().dropped >= 8, 'the drops of both');
    // durable: 1 handed out + 1 buffered, 4 dropped newest; fast: 2 waiting, 4 skipped oldest
    expect(bus.stats().dropped).toBe(8);
    await durable.close();
    await quick.close();
    expect(bus.stats().dropped).toBe(10); // the 2 still waiting at most once are dropped on close
  });

  it("the bus's delivery option is the default level; a call's own delivery wins", async () => {
    bus = createMemoryBus({ delivery: 'at-most-once' });
    // at most once by default: what only at-least-once offers is refused, the hint names the default
    const refused = await bus.subscribe('dflt.x', { ack: 'manual' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).field).toBe('ack');
    expect((refused as ConfigError).hint).toMatch(/by default/);
    // a publish before the subscription is missed by it (nothing kept for at-most-once subscribers)
    await bus.publish('dflt.x', 'before');
    const quick = await bus.subscribe('dflt.x');
    const durable = await bus.subscribe('dflt.x', { delivery: 'at-least-once', ack: 'manual' });
    await bus.publish('dflt.x', 'after');
    const first = await quick[Symbol.asyncIterator]().next();
    expect((first.value as Message).text()).toBe('after');
    expect((first.value as Message).attempt).toBe(1);
    // at least once where asked: a nak brings the message back at attempt 2
    const it = durable[Symbol.asyncIterator]();
    const once = (await it.next()).value as Message;
    expect(once.text()).toBe('after');
    await once.nak();
    const again = (await it.next()).value as Message;
    expect([again.text(), again.attempt]).toEqual(['after', 2]);
    await again.ack();
    await quick.close();
    await durable.close();
  });

  it('a bad bus-wide delivery level is refused before anything starts', () => {
    expect(() => createMemoryBus({ delivery: 'exactly-once' as never })).toThrow(ConfigError);
  });
});
