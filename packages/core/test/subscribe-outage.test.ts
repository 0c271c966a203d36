import { describe, expect, it } from 'vitest';
import { createBus } from '../src/create-bus.js';
import type { BusDriver, DriverSubscription } from '../src/driver.js';
import { AbortedError, BusClosedError, ConfigError, ConnectionError } from '../src/errors.js';
import { silentLogger } from '../src/operability.js';
import { inProcessDriver } from './support/in-process-driver.js';
import { reader } from './support/reader.js';

/**
 * An in-process driver behind a switchable outage, for core's subscribe-through-an-
 * outage logic: while `down`, `subscribe` fails (or, with `queueWhileDown`,
 * waits for the backend to come back, as ioredis queues commands) and the probe
 * gets no answer.
 */
function outageDriver(options: { queueWhileDown?: boolean } = {}) {
  const inner = inProcessDriver();
  let down = false;
  let up: (() => void) | undefined;
  let upAgain = Promise.resolve();
  /** `open`: attempts not failed and not stopped yet (waiting, or live). */
  const state = { subscribeCalls: 0, live: 0, stopped: 0, open: 0, openAtClose: -1 };
  const driver: BusDriver = {
    backend: 'in-process-outage',
    capabilities: inner.capabilities,
    publish: (m) => inner.publish(m),
    async subscribe(request) {
      state.subscribeCalls++;
      if (down && !options.queueWhileDown) throw new Error('connect ECONNREFUSED (test outage)');
      state.open++;
      await upAgain;
      const sub: DriverSubscription = await inner.subscribe(request);
      state.live++;
      return {
        stop: async () => {
          state.live--;
          state.open--;
          state.stopped++;
          await sub.stop();
        },
      };
    },
    probe: () => (down ? new Promise<void>(() => undefined) : Promise.resolve()),
    close: () => {
      state.openAtClose = state.open;
      return inner.close();
    },
  };
  return {
    driver,
    state,
    goDown() {
      down = true;
      upAgain = new Promise((resolve) => {
        up = resolve;
      });
    },
    comeBack() {
      down = false;
      up?.();
    },
  };
}

const since = (start: number) => Date.now() - start;

describe('subscribe during an outage (core, subscribeTimeoutMs)', () => {
  it('waits for the backend to come back, then starts and receives', async () => {
    const o = outageDriver();
    const bus = createBus(o.driver, { logger: silentLogger, subscribeTimeoutMs: 5_000 });
    o.goDown();
    setTimeout(() => o.comeBack(), 600);
    const started = Date.now();
    const r = reader(await bus.subscribe('orders.created', { group: 'billing' }));
    expect(since(started)).toBeGreaterThanOrEqual(500);
    expect(o.state.subscribeCalls).toBeGreaterThan(1);
    await bus.publish('orders.created', 'after the outage');
    expect((await r.next()).text()).toBe('after the outage');
    await bus.close();
  });

  it('rejects with a ConnectionError after about subscribeTimeoutMs when the backend stays away', async () => {
    const o = outageDriver();
    const bus = createBus(o.driver, { logger: silentLogger, subscribeTimeoutMs: 1_000 });
    o.goDown();
    const started = Date.now();
    const error = await bus.subscribe('orders.created').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(since(started)).toBeGreaterThanOrEqual(900);
    expect(since(started)).toBeLessThan(2_500);
    expect(o.state.live).toBe(0);
    await bus.close();
  });

  it('gives up on a subscribe that waits for the reconnect, and stops it when it arrives late', async () => {
    const o = outageDriver({ queueWhileDown: true });
    const bus = createBus(o.driver, { logger: silentLogger, subscribeTimeoutMs: 800 });
    o.goDown();
    const started = Date.now();
    const error = await bus.subscribe('orders.created').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toContain('did not answer within 800 ms');
    expect(since(started)).toBeLessThan(3_000);
    o.comeBack();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(o.state.stopped).toBe(o.state.subscribeCalls);
    expect(o.state.live).toBe(0);
    // nothing published now reaches a subscription that was given up
    const r = reader(await bus.subscribe('orders.created'), 300);
    await bus.publish('orders.created', 'one');
    expect((await r.next()).text()).toBe('one');
    expect(await r.nothingWithin(200)).toBeUndefined();
    await bus.close();
  });

  it('does not retry a failure while the backend answers: rejected at once', async () => {
    const o = outageDriver();
    const failing: BusDriver = {
      ...o.driver,
      subscribe: async () => {
        o.state.subscribeCalls++;
        throw new Error('permission denied for this subject');
      },
    };
    const bus = createBus(failing, { logger: silentLogger, subscribeTimeoutMs: 5_000 });
    const started = Date.now();
    const error = await bus.subscribe('orders.created').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(o.state.subscribeCalls).toBe(1);
    expect(since(started)).toBeLessThan(2_500);
    await bus.close();
  });

  it('never retries a typed refusal such as a ConfigError, even during an outage', async () => {
    const o = outageDriver();
    const refusing: BusDriver = {
      ...o.driver,
      subscribe: async () => {
        o.state.subscribeCalls++;
        throw new ConfigError('streams', 'stream settings differ', { backend: 'in-process-outage' });
      },
    };
    const bus = createBus(refusing, { logger: silentLogger, subscribeTimeoutMs: 5_000 });
    o.goDown();
    const error = await bus.subscribe('orders.created').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(o.state.subscribeCalls).toBe(1);
    await bus.close();
  });

  it('an abort or a close ends the wait at once, with AbortedError or BusClosedError', async () => {
    for (const queueWhileDown of [false, true]) {
      const o = outageDriver({ queueWhileDown });
      const bus = createBus(o.driver, { logger: silentLogger, subscribeTimeoutMs: 10_000 });
      o.goDown();
      const controller = new AbortController();
      const aborted = bus.subscribe('orders.created', { signal: controller.signal }).catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 300));
      let at = Date.now();
      controller.abort();
      expect(await aborted).toBeInstanceOf(AbortedError);
      expect(since(at)).toBeLessThan(500);
      const closing = bus.subscribe('orders.created').catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 300));
      at = Date.now();
      const closed = bus.close();
      expect(await closing).toBeInstanceOf(BusClosedError);
      expect(since(at)).toBeLessThan(500);
      o.comeBack();
      await closed;
      expect(o.state.live).toBe(0);
    }
  });

  it('close() stops an attempt it ended, once that arrives, before the driver closes', async () => {
    const o = outageDriver({ queueWhileDown: true });
    const bus = createBus(o.driver, { logger: silentLogger, subscribeTimeoutMs: 10_000 });
    o.goDown();
    const subscribing = bus.subscribe('orders.created').catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = bus.close({ timeoutMs: 3_000 });
    setTimeout(() => o.comeBack(), 300);
    expect(await subscribing).toBeInstanceOf(BusClosedError);
    await closed;
    expect(o.state.openAtClose).toBe(0);
    expect(o.state.stopped).toBe(1);
  });
});
