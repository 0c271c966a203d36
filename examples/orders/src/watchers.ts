import { type Consumer, DLQ_HEADERS, type EventBus } from '@omnibus/core';
import { EuOrderCreated } from './events.js';
import type { Print } from './output.js';

/** Watches the dead-letter subjects of orders. */
export function startDeadLetterWatcher(bus: EventBus, print: Print, onDead: () => void): Promise<Consumer> {
  return bus.consume('dlq.orders.>', (message) => {
    const h = message.headers;
    print(
      'dlq',
      'parked',
      h[DLQ_HEADERS.id] ?? message.id,
      `from ${h[DLQ_HEADERS.subject]} after ${h[DLQ_HEADERS.attempts]} attempts (${h[DLQ_HEADERS.error]})`,
    );
    onDead();
  });
}

/** An audit log tailing every order event, whatever the region or kind. */
export function startAuditLog(bus: EventBus, print: Print): Promise<Consumer> {
  return bus.consume('orders.>', (message) => {
    print('audit', 'saw', message.id, message.subject);
  });
}

/** A typed consumer of EU orders: the payload is validated before the handler runs. */
export function startEuReport(bus: EventBus, print: Print): Promise<Consumer> {
  return EuOrderCreated.consume(
    bus,
    (order) => {
      print('eu-report', 'report', order.orderId, `${order.items} item(s), ${order.total.toFixed(2)}`);
    },
    { group: 'eu-report' },
  );
}
