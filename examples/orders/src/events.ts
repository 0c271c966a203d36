import { defineEvent } from '@omnibus/core';
import { z } from 'zod';

/** An order was placed. Subject: orders.<region>.created is routed by the service; the typed event pins one region. */
export const orderSchema = z.object({
  orderId: z.string().min(1),
  region: z.enum(['eu', 'us', 'apac']),
  total: z.number().positive(),
  items: z.number().int().positive(),
});

export type Order = z.infer<typeof orderSchema>;

/** Orders placed in the EU, as a typed event (validated on both sides). */
export const EuOrderCreated = defineEvent('orders.eu.created', orderSchema);

/** The subject an order is published to. */
export const createdSubject = (region: Order['region']) => `orders.${region}.created`;
