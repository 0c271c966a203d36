import { describe, expect, it } from 'vitest';
import { createBus } from '../src/create-bus.js';
import type { BusDriver, DriverSubscription } from '../src/driver.js';
import { silentLogger } from '../src/operability.js';
import { inProcessDriver } from './support/in-process-driver.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * An in-process driver whose `subscribe` resolves only when the test says so, and
 * whose subscriptions take 100 ms to stop: for a subscription that arrives just
 * as the bus (or the subscription) closes.
 */
function lateDriver() {
  const inner = inProcessDriver();
  let arrive!: () => void;
  const arrived = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  const state = { stopsBegun: 0, stopsDone: 0, stopsDoneAtClose: -1 };
  const driver: BusDriver = {
    backend: 'in-process-late',
    capabilities: inner.capabilities,
    publish: (m) => inner.publish(m),
    async subscribe(request) {
      const sub: DriverSubscription = await inner.subscribe(request);
      await arrived;
      return {
        stop: async () => {
          state.stopsBegun++;
          await sleep(100);
          await sub.stop();
          state.stopsDone++;
        },
      };
    },
    close: () => {
      state.stopsDoneAtClose = state.stopsDone;
      return inner.close();
    },
  };
  return { driver, state, arrive };
}

/** A bus on `lateDriver` whose grouped subscription was aborted while the driver was still subscribing. */
async function abortedWhileStarting() {
  const d = lateDriver();
  const bus = createBus(d.driver, { logger: silentLogger });
  const abort = new AbortController();
  const subscribing = bus.subscribe('orders.created', { group: 'billing', signal: abort.signal });
  await sleep(10);
  abort.abort();
  return { d, bus, subscribing };
}

describe('a subscription that arrives as the bus closes', () => {
  it('is stopped, and close() waits for that stop before it closes the driver', async () => {
    const d = lateDriver();
    const bus = createBus(d.driver, { logger: silentLogger });
    const subscribing = bus.subscribe('orders.created', { group: 'billing' });
    await sleep(10);
    const closing = bus.close();
    d.arrive(); // arrives while the subscription's runtime is closing
    await expect(subscribing).rejects.toMatchObject({ code: 'BUS_CLOSED' });
    await closing;
    expect(d.state.stopsBegun).toBe(1);
    expect(d.state.stopsDoneAtClose).toBe(1);
  });

  it('one aborted as it arrives is stopped, and a later close() waits for that stop', async () => {
    const { d, bus, subscribing } = await abortedWhileStarting();
    d.arrive();
    await expect(subscribing).rejects.toMatchObject({ code: 'ABORTED' });
    await bus.close();
    expect(d.state.stopsBegun).toBe(1);
    expect(d.state.stopsDoneAtClose).toBe(1);
  });

  it('one that arrives long after its subscription was aborted is stopped before the bus closes the driver', async () => {
    const { d, bus, subscribing } = await abortedWhileStarting();
    await expect(subscribing).rejects.toMatchObject({ code: 'ABORTED' });
    const closing = bus.close();
    await sleep(20);
    d.arrive(); // the subscription, its runtime and half of close() are long over
    await closing;
    expect(d.state.stopsBegun).toBe(1);
    expect(d.state.stopsDoneAtClose).toBe(1);
  });
});
