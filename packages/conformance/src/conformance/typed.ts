import { DLQ_HEADERS, defineEvent, type StandardSchemaV1, ValidationError } from '@omnibus/core';
import { waitFor } from '../reader.js';
import type { Expect } from '../runner.js';
import type { Register } from './context.js';

interface Order {
  orderId: string;
  total: number;
}

/** A minimal Standard Schema validator, so the suite needs no schema library. */
const orderSchema: StandardSchemaV1<Order> = {
  '~standard': {
    version: 1,
    vendor: 'omnibus-conformance',
    validate(value) {
      const v = value as Partial<Order> | null;
      const issues = [];
      if (typeof v?.orderId !== 'string' || v.orderId.length === 0)
        issues.push({ message: 'must be a non-empty string', path: ['orderId'] });
      if (typeof v?.total !== 'number' || !(v.total > 0))
        issues.push({ message: 'must be a positive number', path: ['total'] });
      return issues.length > 0 ? { issues } : { value: v as Order };
    },
  },
};

/** Typed events: validation on both sides, whatever the backend. */
export function typedEventTests(test: Register, expect: Expect): void {
  test('typed events: valid data reaches the handler; invalid data is refused on publish', async (ctx) => {
    const OrderPlaced = defineEvent(ctx.subject('orders', 'placed'), orderSchema);
    const seen: Order[] = [];
    ctx.track(await OrderPlaced.consume(ctx.bus, (order) => void seen.push(order)));
    await expect(OrderPlaced.publish(ctx.bus, { orderId: '', total: -1 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await OrderPlaced.publish(ctx.bus, { orderId: 'o-1', total: 12.5 });
    await waitFor(() => seen.length === 1, 'the typed handler', ctx.timeoutMs);
    expect(seen).toEqual([{ orderId: 'o-1', total: 12.5 }]);
  });

  test('typed events: a message failing validation is dead-lettered with the issues, never handled', async (ctx) => {
    const subject = ctx.subject('orders', 'placed');
    const OrderPlaced = defineEvent(subject, orderSchema);
    const dlq = await ctx.read(`dlq.${subject}`);
    let handled = 0;
    ctx.track(await OrderPlaced.consume(ctx.bus, () => void handled++));
    await ctx.bus.publish(subject, JSON.stringify({ orderId: 'o-2', total: 'lots' }));
    const dead = await dlq.next();
    expect(dead.headers[DLQ_HEADERS.reason]).toBe('validation failed: total: must be a positive number');
    expect(dead.headers[DLQ_HEADERS.subject]).toBe(subject);
    expect(handled).toBe(0);
  });
}
