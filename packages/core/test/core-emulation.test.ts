import { expect, it } from 'vitest';
import { createBus } from '../src/create-bus.js';
import type { BusDriver } from '../src/driver.js';
import { inProcessDriver } from './support/in-process-driver.js';
import { reader } from './support/reader.js';

// A driver whose backend declares no delayed nak: core must emulate the delay.
function driverWithoutDelayedNak(): BusDriver {
  return inProcessDriver({ delayedNak: false });
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
