import { context, propagation } from '@opentelemetry/api';

/**
 * The active trace context as message headers (W3C `traceparent` and `tracestate`, through the
 * propagator your SDK registered); empty when no span is active. For messages that leave the
 * process later, not through `publish`: `createOutbox({ contextHeaders: traceHeaders })` stores it
 * with each outbox row, and the relay's spans continue the trace of the request that wrote it.
 */
export function traceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}
