import { createMemoryBus } from '@omnibus/memory';
import { expect, it } from 'vitest';
import { demoOrders, runOrdersDemo } from '../src/run.js';

it('charges every order under the limit, retries the flaky ones and dead-letters the rest', async () => {
  const bus = createMemoryBus();
  const lines: string[] = [];
  const summary = await runOrdersDemo(bus, (l) => lines.push(l), demoOrders(12, 'x'));
  const orders = demoOrders(12, 'x');
  const overLimit = orders.filter((o) => o.total > 1000).length;
  expect(summary).toEqual({
    placed: orders.length,
    charged: orders.length - overLimit,
    deadLettered: overLimit,
  });
  expect(lines.some((l) => l.includes('duplicate, ignored'))).toBe(true);
  expect(lines.filter((l) => l.startsWith('audit')).length).toBeGreaterThanOrEqual(orders.length);
  expect(lines.filter((l) => l.startsWith('eu-report')).length).toBe(
    orders.filter((o) => o.region === 'eu').length,
  );
  expect(lines.some((l) => /charged +order-x-3 .*attempt 2/.test(l))).toBe(true);
  const stats = bus.stats();
  expect(stats.duplicates).toBe(1);
  expect(stats.deadLettered).toBe(overLimit);
  await bus.close();
});
