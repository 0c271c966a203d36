import type { Consumer, EventBus } from '@omnibus/core';
import { orderSchema } from './events.js';

/**
 * A grouped worker: members of "billing" share the work. The payment provider is
 * flaky (every third order fails on its first attempt) and refuses totals over
 * 1,000 (always fails, so those orders end in the dead-letter subject). `charged`
 * is the payment ledger the members share: an order already charged is skipped,
 * so a duplicate delivery never charges twice — on Kafka, which has no publisher
 * dedupe, that is what absorbs a retried request.
 */
export function startBillingWorker(
  bus: EventBus,
  member: string,
  log: (line: string) => void,
  onSettled: () => void,
  charged: Set<string>,
): Promise<Consumer> {
  return bus.consume(
    'orders.*.created',
    async (message) => {
      const order = orderSchema.parse(message.json());
      if (charged.has(order.orderId)) {
        log(`billing  skipped  ${order.orderId}: already charged (duplicate delivery)`);
        return;
      }
      const n = Number(order.orderId.split('-').at(-1));
      if (order.total > 1000) throw new Error(`payment refused for ${order.orderId}: total over limit`);
      if (n % 3 === 0 && message.attempt === 1)
        throw new Error(`payment provider timeout for ${order.orderId}`);
      charged.add(order.orderId);
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
