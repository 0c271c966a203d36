import type { EventBus } from '@omnibus/core';
import { createdSubject, type Order } from './events.js';
import type { Print } from './output.js';

/** Publishes order events; knows only the EventBus contract. */
export function createOrderService(bus: EventBus, print: Print) {
  return {
    async place(order: Order): Promise<void> {
      // printed before publishing: on a broker the consumers may see the order before publish resolves
      print('service', 'placed', order.orderId, `${order.region}, ${order.total.toFixed(2)}`);
      // the order id doubles as the message id, so a retried request is deduplicated
      const receipt = await bus.publish(createdSubject(order.region), JSON.stringify(order), {
        id: order.orderId,
        headers: { 'content-type': 'application/json' },
      });
      if (receipt.duplicate)
        print('service', 'duplicate', order.orderId, 'same id again: duplicate, ignored by the bus');
    },
  };
}
