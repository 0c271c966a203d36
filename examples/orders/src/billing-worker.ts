import type { Consumer, EventBus } from '@omnibus/core';
import { orderSchema } from './events.js';

/**
 * A grouped worker: members of "billing" share the work. The payment provider is
 * flaky (every third order fails on its first attempt) and refuses totals over
 * 1,000 (always fails, so those orders end in the dead-letter subject).
 */
export function startBillingWorker(
  bus: EventBus,
  member: string,
  log: (line: string) => void,
  onSettled: () => void,
): Promise<Consumer> {
  return bus.consume(
    'orders.*.created',
    async (message) => {
      const order = orderSchema.parse(message.json());
      const n = Number(order.orderId.split('-').at(-1));
      if (order.total > 1000) throw new Error(`payment refused for ${order.orderId}: total over limit`);
      if (n % 3 === 0 && message.attempt === 1)
        throw new Error(`payment provider timeout for ${order.orderId}`);
      log(`billing  charged  ${order.orderId} by ${member} (attempt ${message.attempt})`);
      onSettled();
    },
    {
      group: 'billing',
      maxAttempts: 3,
      backoff: [20, 50],
      maxInFlight: 4,
      onError: (error, message) => {
        const last = message.attempt >= 3;
        log(
          `billing  failed   ${message.id} on attempt ${message.attempt}: ${(error as Error).message}${last ? ' → dead-letter' : ' → retry'}`,
        );
      },
    },
  );
}
