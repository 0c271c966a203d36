import { type BusDriver, createBus } from '@omnibus/core';
import { reader } from '@omnibus/testing';
import { expect, it } from 'vitest';
import { MemoryDriver } from '../src/memory-driver.js';
import { resolveMemoryOptions } from '../src/options.js';

// A real driver whose backend declares no delayed nak: core must emulate the delay.
function driverWithoutDelayedNak(): BusDriver {
  const inner = new MemoryDriver(resolveMemoryOptions());
  return {
    backend: 'memory-no-delay',
    capabilities: { ...inner.capabilities, delayedNak: false },
    publish: (m) => inner.publish(m),
    subscribe: (r) => inner.subscribe(r),
    close: () => inner.close(),
  };
}

it('core holds a nakked message for the delay when the backend cannot delay redelivery', async () => {
  const bus = createBus(driverWithoutDelayedNak());
  const r = reader(await bus.subscribe('emulated', { ack: 'manual' }));
  await bus.publish('emulated', 'x');
  const first = await r.next();
  const nakAt = Date.now();
  const nakked = first.nak({ delayMs: 300 });
  // while held, the message keeps its in-flight slot
  expect(bus.stats().inFlight).toBe(1);
  await nakked;
  const again = await r.next();
  expect(Date.now() - nakAt).toBeGreaterThanOrEqual(290);
  expect(again.attempt).toBe(2);
  await again.ack();
  await bus.close();
});
