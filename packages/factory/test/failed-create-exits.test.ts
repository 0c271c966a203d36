// A failed create releases everything it opened: a process whose bus could not connect exits by
// itself, at once. Each case runs in a child `node` process importing the built package (dist).
import { testFailedCreateExits } from '@omnibus/testing';

/**
 * How long after its ConnectionError the child may take to exit: at once for NATS, Redis and
 * RabbitMQ; Kafka's are released before any client exists (the broker address is probed first).
 */
const EXIT_WITHIN_MS = { nats: 2_000, redis: 2_000, kafka: 4_000, amqp: 2_000 } as const;

for (const scheme of ['nats', 'redis', 'kafka', 'amqp'] as const) {
  testFailedCreateExits({
    module: new URL('../dist/index.js', import.meta.url).href,
    create: 'createEventBusFromEnv',
    options: (port) => ({ OMNIBUS_URL: `${scheme}://127.0.0.1:${port}?connectTimeoutMs=1500` }),
    exitWithinMs: EXIT_WITHIN_MS[scheme],
    servers: ['silent', 'garbage'],
    title: `OMNIBUS_URL=${scheme}://… to a server that %s: ConnectionError, then the process exits by itself`,
  });
}
