// The same harness around a bus on a real broker (NATS JetStream), the integration-suite use: its
// journals come from the bus's own events, and idle() adds a quiet period because the broker's
// queues cannot be seen from this process.
import { silentLogger } from '@omnibus/core';
import { createEventBusFromEnv } from '@omnibus/factory';
import { uniqueName, withBroker } from '@omnibus/testing';
import { describe, expect, it } from 'vitest';
import { createHarness } from '../src/index.js';

await withBroker('nats', (broker) => {
  describe('the harness on NATS JetStream', () => {
    it('journals publishes, deliveries with their outcomes and dead letters; idle() after a quiet period', async () => {
      const bus = await createEventBusFromEnv({ env: { OMNIBUS_URL: broker.url }, logger: silentLogger });
      const harness = createHarness(bus, { timeoutMs: 20_000, quietMs: 300 });
      const root = uniqueName('harness');
      try {
        await bus.consume(
          `${root}.orders.*`,
          async (m) => {
            const { orderId } = m.json<{ orderId: string }>();
            if (orderId === 'bad') throw new Error('refused');
            await bus.publish(`${root}.billing.charged`, JSON.stringify({ orderId }));
          },
          { group: 'billing', maxAttempts: 2, backoff: 10 },
        );
        await bus.publish(`${root}.orders.eu`, JSON.stringify({ orderId: 'o-1' }));
        await bus.publish(`${root}.orders.us`, JSON.stringify({ orderId: 'bad' }));

        const charged = await harness.published(`${root}.billing.charged`, { where: { orderId: 'o-1' } });
        expect(charged.receipt.sequence).toMatch(/:\d+$/); // a JetStream receipt
        const dead = await harness.deadLettered(`${root}.orders.*`, { where: { orderId: 'bad' } });
        expect(dead).toMatchObject({
          attempt: 2,
          deadLetterSubject: `dlq.${root}.orders.us`,
          group: 'billing',
        });
        await harness.idle();
        expect(
          harness.journal.consumed.map((e) => [
            (e.payload as { orderId: string }).orderId,
            e.attempt,
            e.outcome,
          ]),
        ).toEqual(
          expect.arrayContaining([
            ['o-1', 1, 'acked'],
            ['bad', 1, 'retried'],
            ['bad', 2, 'dead-lettered'],
          ]),
        );
      } finally {
        harness.stop();
        await bus.close();
      }
    }, 60_000);
  });
});
