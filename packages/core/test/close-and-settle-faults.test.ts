import { describe, expect, it } from 'vitest';
import { createBus } from '../src/create-bus.js';
import type { BusDriver, DriverSubscribeRequest, InboundDelivery, SettleInfo } from '../src/driver.js';
import { silentLogger } from '../src/operability.js';

/**
 * A transport held in this file: deliveries pushed by hand, settles recorded, and faults where
 * told (a stop that never ends, an ack that fails). What core does with a driver that misbehaves
 * is core's contract; no broker can be made to misbehave this precisely.
 */
function driver(faults: { stopHangs?: boolean; ackFails?: (info: SettleInfo) => boolean } = {}) {
  const sinks: DriverSubscribeRequest['sink'][] = [];
  const settles: string[] = [];
  const d: BusDriver = {
    backend: 'test',
    capabilities: {
      durable: false,
      replay: false,
      groups: false,
      dedupe: false,
      delayedNak: true,
      ordering: 'subject',
      groupBalance: 'message',
      wildcards: 'native',
      maxPayloadBytes: 1024,
    },
    publish: () => ({ duplicate: false }),
    async subscribe(request) {
      sinks.push(request.sink);
      return { stop: () => (faults.stopHangs ? new Promise<void>(() => undefined) : Promise.resolve()) };
    },
    close: () => Promise.resolve(),
  };
  let n = 0;
  const push = (attempt = 1): void => {
    const id = `m${n++}`;
    const delivery: InboundDelivery = {
      id,
      subject: 'jobs.x',
      payload: new Uint8Array(),
      headers: {},
      publishedAt: Date.now(),
      attempt,
      ack(info) {
        if (faults.ackFails?.(info)) throw new Error('ack refused');
        settles.push(`${id}:ack:${info.reason}`);
      },
      nak(_delayMs, info) {
        settles.push(`${id}:nak:${info.reason}`);
      },
    };
    for (const sink of sinks) sink.push(delivery);
  };
  return { driver: d, push, settles };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('close is bounded', () => {
  it('bus.close({ timeoutMs }) is bounded even when a subscription was already closing with a longer timeout', async () => {
    const { driver: d } = driver({ stopHangs: true });
    const bus = createBus(d, { logger: silentLogger });
    const sub = await bus.subscribe('jobs.x');
    void sub.close(); // default 10 s, its stop never ends
    const started = performance.now();
    await bus.close({ timeoutMs: 300 });
    expect(performance.now() - started).toBeLessThan(3_000); // not the subscription's 10 s
  });

  it('close({ timeoutMs: Infinity }) waits for a running handler instead of firing at once', async () => {
    const { driver: d, push, settles } = driver();
    const bus = createBus(d, { logger: silentLogger });
    let finished = false;
    await bus.consume('jobs.x', async () => {
      await sleep(300);
      finished = true;
    });
    push();
    await sleep(20);
    await bus.close({ timeoutMs: Number.POSITIVE_INFINITY });
    expect(finished).toBe(true);
    expect(settles).toEqual(['m0:ack:ack']);
  });
});

describe('settle faults keep the stats balanced', () => {
  it('a dead-letter copy stored but the ack of the original refused: counted once as dead-lettered', async () => {
    const { driver: d, push } = driver({ ackFails: (info) => info.reason === 'dead-letter' });
    const bus = createBus(d, { logger: silentLogger });
    await bus.consume(
      'jobs.x',
      () => {
        throw new Error('always');
      },
      { maxAttempts: 1 },
    );
    push();
    await sleep(50);
    const s = bus.stats();
    expect(s.deadLettered).toBe(1);
    expect(s.delivered).toBe(s.acked + s.nakked + s.deadLettered + s.inFlight);
    await bus.close({ timeoutMs: 500 });
  });
});

describe('the ack timeout runs from each hand-out', () => {
  it('a synchronous handler delaying the next hand-outs does not shorten their ack timeout', async () => {
    const { driver: d, push, settles } = driver();
    const bus = createBus(d, { logger: silentLogger });
    await bus.consume(
      'jobs.x',
      async () => {
        const until = Date.now() + 300;
        while (Date.now() < until) {
          // synchronous work: the next message of the batch is handed out only after it
        }
        await sleep(600); // settled 900 ms after its own hand-out, within the 1,000 ms timeout
      },
      { maxInFlight: 3, ackTimeoutMs: 1_000 },
    );
    push();
    push();
    push();
    await sleep(2_000);
    expect(settles.sort()).toEqual(['m0:ack:ack', 'm1:ack:ack', 'm2:ack:ack']);
    await bus.close({ timeoutMs: 500 });
  });
});
