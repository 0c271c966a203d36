import type { BusDriver } from '../driver.js';
import { ConfigError } from '../errors.js';
import type { EventBus } from '../types.js';
import { createDeadLetters } from './dead-letters.js';
import type { BusManagement } from './management-types.js';

/** Where `createBus` keeps a bus's management side (not enumerable, not part of `EventBus`). */
const MANAGEMENT = Symbol.for('omnibus.management');

/**
 * Gives `bus` its management side when its driver has one (`BusDriver.management`).
 * `assertOpen` throws once the bus is closing: management calls then fail the same way.
 */
export function attachManagement(bus: EventBus, driver: BusDriver, assertOpen: () => void): void {
  const management = driver.management;
  if (!management) return;
  const value: BusManagement = {
    backend: driver.backend,
    deadLetters: createDeadLetters({
      backend: driver.backend,
      management,
      assertOpen,
      publish: async (message) => driver.publish(message),
    }),
    async groups() {
      assertOpen();
      return management.groups();
    },
  };
  Object.defineProperty(bus, MANAGEMENT, { value, enumerable: false });
}

/**
 * The management side of a bus — dead letters to list, show, redrive and purge, and consumer
 * groups with their lag — the same on every backend whose adapter supports it.
 *
 * ```ts
 * const admin = manage(bus);
 * await admin.deadLetters.redrive({ subject: 'orders.>' }, { rate: 100 });
 * ```
 *
 * @throws ConfigError when the bus's adapter has no management API.
 */
export function manage(bus: EventBus): BusManagement {
  const value = (bus as unknown as Record<symbol, BusManagement | undefined>)[MANAGEMENT];
  if (!value)
    throw new ConfigError('management', 'this bus has no management API', {
      backend: bus?.backend,
      hint: 'its adapter does not implement BusDriver.management (see docs/management.md)',
    });
  return value;
}
