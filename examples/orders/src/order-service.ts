import type { EventBus } from '@omnibus/core';
import { createdSubject, type Order } from './events.js';

/** Publishes order events; knows only the EventBus contract. */
export function createOrderService(bus: EventBus, log: (line: string) => void) {
  return {
    async place(order: Order): Promise<void> {
      // the order id doubles as the message id, so a retried request is deduplicated
      const receipt = await bus.publish(createdSubject(order.region), JSON.stringify(order), {
        id: order.orderId,
        headers: { 'content-type': 'application/json' },
      });
      log(
        `service  placed   ${order.orderId} (${order.region}, ${order.total.toFixed(2)})${receipt.duplicate ? ' — duplicate, ignored' : ''}`,
      );
    },
  };
}
