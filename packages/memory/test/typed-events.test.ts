import { DLQ_HEADERS, defineEvent, ValidationError } from '@omnibus/core';
import { reader, waitFor } from '@omnibus/testing';
import * as v from 'valibot';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createMemoryBus, type MemoryBus } from '../src/index.js';

let bus: MemoryBus;
afterEach(async () => {
  await bus?.close();
});

const schemas = {
  zod: z.object({ orderId: z.string().min(1), total: z.number().positive() }),
  valibot: v.object({
    orderId: v.pipe(v.string(), v.minLength(1)),
    total: v.pipe(v.number(), v.minValue(0.01)),
  }),
};

describe.each(Object.entries(schemas))('typed events with %s', (_name, schema) => {
  const OrderPlaced = defineEvent('orders.placed', schema);

  it('publishes valid data and hands the handler typed, validated data', async () => {
    bus = createMemoryBus();
    const seen: { orderId: string; total: number }[] = [];
    await OrderPlaced.consume(bus, (data, message) => {
      expectTypeOf(data).toEqualTypeOf<{ orderId: string; total: number }>();
      expect(message.data).toEqual(data);
      seen.push(data);
    });
    const receipt = await OrderPlaced.publish(bus, { orderId: 'o-1', total: 12.5 });
    expect(receipt.subject).toBe('orders.placed');
    await waitFor(() => seen.length === 1, 'the handler');
    expect(seen).toEqual([{ orderId: 'o-1', total: 12.5 }]);
  });

  it('rejects invalid data on publish with ValidationError and sends nothing', async () => {
    bus = createMemoryBus();
    const r = reader(await bus.subscribe('orders.placed'));
    await expect(OrderPlaced.publish(bus, { orderId: '', total: -1 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(OrderPlaced.publish(bus, { orderId: '', total: -1 })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    expect(await r.nothingWithin(30)).toBeUndefined();
  });

  it('dead-letters a message that fails validation on the consuming side, with the issues in its headers', async () => {
    bus = createMemoryBus();
    const dlq = reader(await bus.subscribe('dlq.orders.placed'));
    let called = 0;
    await OrderPlaced.consume(bus, () => void called++);
    await bus.publish('orders.placed', JSON.stringify({ orderId: 'o-2', total: 'lots' }));
    await bus.publish('orders.placed', 'not json');
    // handlers run concurrently (maxInFlight 100): dead-letters may land in either order
    const reasons = (await dlq.take(2)).map((m) => m.headers[DLQ_HEADERS.reason]).sort();
    expect(reasons[0]).toMatch(/^validation failed: payload is not valid JSON/);
    expect(reasons[1]).toMatch(/^validation failed: total: /);
    expect(called).toBe(0);
  });

  it('iterates typed messages and skips invalid ones', async () => {
    bus = createMemoryBus();
    const sub = await OrderPlaced.subscribe(bus);
    await bus.publish('orders.placed', '{"orderId":"","total":0}');
    await OrderPlaced.publish(bus, { orderId: 'o-3', total: 1 });
    for await (const m of sub) {
      expect(m.data).toEqual({ orderId: 'o-3', total: 1 });
      break;
    }
    expect(bus.stats().deadLettered).toBe(1);
  });
});
