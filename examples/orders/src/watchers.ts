import { type Consumer, DLQ_HEADERS, type EventBus } from '@omnibus/core';
import { EuOrderCreated } from './events.js';

/** Watches the dead-letter subjects of orders. */
export function startDeadLetterWatcher(
  bus: EventBus,
  log: (line: string) => void,
  onDead: () => void,
): Promise<Consumer> {
  return bus.consume('dlq.orders.>', (message) => {
    const h = message.headers;
    log(
      `dlq      parked   ${h[DLQ_HEADERS.id]} from ${h[DLQ_HEADERS.subject]} after ${h[DLQ_HEADERS.attempts]} attempts (${h[DLQ_HEADERS.error]})`,
    );
    onDead();
  });
}

/** An audit log tailing every order event, whatever the region or kind. */
export function startAuditLog(bus: EventBus, log: (line: string) => void): Promise<Consumer> {
  return bus.consume('orders.>', (message) => {
    log(`audit    saw      ${message.subject} ${message.id}`);
  });
}

/** A typed consumer of EU orders: the payload is validated before the handler runs. */
export function startEuReport(bus: EventBus, log: (line: string) => void): Promise<Consumer> {
  return EuOrderCreated.consume(
    bus,
    (order) => {
      log(`eu-report          ${order.orderId}: ${order.items} item(s)`);
    },
    { group: 'eu-report' },
  );
}
