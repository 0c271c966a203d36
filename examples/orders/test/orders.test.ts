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

it('prints a legend first, then one aligned row per event, in the order the events happened', async () => {
  const bus = createMemoryBus();
  const lines: string[] = [];
  const orders = demoOrders(12, 'x');
  await runOrdersDemo(bus, (l) => lines.push(l), orders);
  await bus.close();

  // the legend comes first and names every column-1 value
  expect(lines[0]).toMatch(/^legend/);
  const header = lines.findIndex((l) => /^who +what +order +details$/.test(l));
  expect(header).toBeGreaterThan(0);
  const legend = lines.slice(0, header).join('\n');
  for (const who of ['service', 'audit', 'billing', 'eu-report', 'dlq'])
    expect(legend).toContain(`  ${who} `);

  // aligned: every row starts its columns where the header does
  const starts = (line: string) => [...line.matchAll(/\S+/g)].slice(0, 4).map((m) => m.index);
  const columns = starts(lines[header] as string);
  const rows = lines.slice(header + 1);
  expect(rows.length).toBeGreaterThan(orders.length * 3);
  for (const row of rows) expect(starts(row), row).toEqual(columns);

  // in order: an order is placed before anyone sees it; a failure is printed before its dead-letter
  const at = (pattern: RegExp) => rows.findIndex((r) => pattern.test(r));
  for (const { orderId } of orders) {
    const placed = at(new RegExp(`^service +placed +${orderId} `));
    expect(placed, orderId).toBeGreaterThanOrEqual(0);
    for (const who of ['audit', 'billing', 'eu-report', 'dlq']) {
      const seen = at(new RegExp(`^${who} +\\S+ +${orderId} `));
      if (seen >= 0) expect(seen, `${who} ${orderId}`).toBeGreaterThan(placed);
    }
  }
  for (const { orderId, total } of orders) {
    if (total <= 1000) continue;
    const lastFailure = at(new RegExp(`^billing +failed +${orderId} .*attempt 3: .*→ dead-letter$`));
    const parked = at(new RegExp(`^dlq +parked +${orderId} `));
    expect(lastFailure, orderId).toBeGreaterThanOrEqual(0);
    expect(parked, orderId).toBeGreaterThan(lastFailure);
  }
});
