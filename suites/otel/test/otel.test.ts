import { createEventBusFromEnv } from '@omnibus/factory';
import { withBroker } from '@omnibus/testing';
import { otelSuite, quiet } from './otel-suite.js';

otelSuite('memory', () => createEventBusFromEnv({ env: { OMNIBUS_URL: 'memory://' }, ...quiet }));
for (const kind of ['nats', 'redis', 'kafka'] as const) {
  await withBroker(kind, (broker) => {
    otelSuite(kind, () => createEventBusFromEnv({ env: { OMNIBUS_URL: broker.url }, ...quiet }));
  });
}
