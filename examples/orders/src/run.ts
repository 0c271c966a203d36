import type { EventBus } from '@omnibus/core';
import { PAYMENT_LIMIT, startBillingWorker } from './billing-worker.js';
import type { Order } from './events.js';
import { createOrderService } from './order-service.js';
import { createPrinter, legend } from './output.js';
import { startAuditLog, startDeadLetterWatcher, startEuReport } from './watchers.js';

/** What a run did. */
export interface RunSummary {
  placed: number;
  charged: number;
  deadLettered: number;
}

const regions = ['eu', 'us', 'apac'] as const;

/** The demo orders: the 5th and 10th are over the payment limit. */
export function demoOrders(count = 12, run = Date.now().toString(36)): Order[] {
  // a run id keeps ids unique across runs, so a durable backend's dedupe window never hides a new run
  return Array.from({ length: count }, (_, i) => ({
    orderId: `order-${run}-${i + 1}`,
    region: regions[i % regions.length] as Order['region'],
    total: (i + 1) % 5 === 0 ? 1500 : 20 + i * 7.5,
    items: 1 + (i % 4),
  }));
}

/**
 * Prints the legend, wires the modules to the bus, places the orders, waits until
 * every order is either charged or dead-lettered, and returns the tally. Every
 * line goes through `log`, one event per aligned row, in the order the events
 * happened. The bus is the caller's: this function never closes it.
 */
export async function runOrdersDemo(
  bus: EventBus,
  log: (line: string) => void,
  orders = demoOrders(),
  limit: number | (() => number) = PAYMENT_LIMIT,
): Promise<RunSummary> {
  const summary: RunSummary = { placed: 0, charged: 0, deadLettered: 0 };
  let settle!: () => void;
  const allSettled = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const check = () => {
    if (summary.charged + summary.deadLettered === orders.length) settle();
  };
  const orderWidth = Math.max(...orders.map((o) => o.orderId.length));
  for (const line of legend(orderWidth)) log(line);
  const print = createPrinter(log, orderWidth);
  await startAuditLog(bus, print);
  await startEuReport(bus, print);
  await startDeadLetterWatcher(bus, print, () => {
    summary.deadLettered++;
    check();
  });
  const charged = new Set<string>();
  for (const member of ['worker-a', 'worker-b']) {
    await startBillingWorker(
      bus,
      member,
      print,
      () => {
        summary.charged++;
        check();
      },
      charged,
      limit,
    );
  }
  const service = createOrderService(bus, print);
  for (const order of orders) {
    await service.place(order);
    summary.placed++;
  }
  // a retried request: deduplicated by id where the backend can (capabilities.dedupe), and
  // skipped by the billing worker's ledger everywhere
  await service.place(orders[0] as Order);
  await allSettled;
  return summary;
}
