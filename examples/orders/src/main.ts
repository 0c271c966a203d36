import { redact } from '@omnibus/core';
import { createEventBusFromEnv } from '@omnibus/factory';
import { runOrdersDemo } from './run.js';

// The composition root: the only place that knows which transport is used.
const bus = await createEventBusFromEnv();
const log = (line: string) => console.log(line);
console.log(`orders example on the ${bus.backend} bus (${redact(process.env.OMNIBUS_URL ?? 'memory://')})`);

const shutdown = async (signal: string) => {
  console.log(`received ${signal}, draining…`);
  await bus.close();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));

const summary = await runOrdersDemo(bus, log);
await bus.close();
const stats = bus.stats();
console.log(
  `done: ${summary.placed} orders placed, ${summary.charged} charged, ${summary.deadLettered} dead-lettered; ` +
    `bus stats: published ${stats.published}, duplicates ${stats.duplicates}, delivered ${stats.delivered}, ` +
    `redelivered ${stats.redelivered}, dead-lettered ${stats.deadLettered}, errors ${stats.errors}`,
);
