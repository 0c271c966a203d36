import type { Consumer, EventBus } from '@omnibus/core';
import { orderSchema } from './events.js';
import type { Print } from './output.js';

/** Attempts before an order is dead-lettered. */
export const MAX_ATTEMPTS = 3;

/** The payment provider refuses totals over this (the "bug" a redrive recovers from: raise it with BILLING_LIMIT). */
export const PAYMENT_LIMIT = 1_000;

/**
 * A grouped worker: members of "billing" share the work. The payment provider is
 * flaky (every third order fails on its first attempt) and refuses totals over
 * `limit` (always fails, so those orders end in the dead-letter subject). `charged`
 * is the payment ledger the members share: an order already charged is skipped,
 * so a duplicate delivery never charges twice — on Kafka, which has no publisher
 * dedupe, that is what absorbs a retried request.
 */
export function startBillingWorker(
  bus: EventBus,
  member: string,
  print: Print,
  onSettled: () => void,
  charged: Set<string>,
  limit: number | (() => number) = PAYMENT_LIMIT,
): Promise<Consumer> {
  return bus.consume(
    'orders.*.created',
    async (message) => {
      const order = orderSchema.parse(message.json());
      if (charged.has(order.orderId)) {
        print('billing', 'skipped', order.orderId, `by ${member}: already charged (duplicate delivery)`);
        return;
      }
      try {
        const n = Number(order.orderId.split('-').at(-1));
        if (order.total > (typeof limit === 'function' ? limit() : limit))
          throw new Error(`payment refused for ${order.orderId}: total over limit`);
        if (n % 3 === 0 && message.attempt === 1)
          throw new Error(`payment provider timeout for ${order.orderId}`);
      } catch (error) {
        // printed here, before the throw: the retry or the dead-letter (and the dlq watcher's
        // line) happen after it — an onError callback would run only after the dead-letter
        const next = message.attempt >= MAX_ATTEMPTS ? 'dead-letter' : 'retry';
        print(
          'billing',
          'failed',
          order.orderId,
          `by ${member}, attempt ${message.attempt}: ${(error as Error).message} → ${next}`,
        );
        throw error;
      }
      charged.add(order.orderId);
      // a dead letter sent back (omnibus dlq redrive) says how many times it was redriven
      const redrive = message.headers['omnibus-redrive-count'];
      print(
        'billing',
        'charged',
        order.orderId,
        `by ${member}, attempt ${message.attempt}${redrive ? `, redrive ${redrive}` : ''}`,
      );
      onSettled();
    },
    { group: 'billing', maxAttempts: MAX_ATTEMPTS, backoff: [20, 50], maxInFlight: 4 },
  );
}
