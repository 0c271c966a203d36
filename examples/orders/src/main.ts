import { type EventBus, redact } from '@omnibus/core';
import { createEventBusFromEnv } from '@omnibus/factory';
import { fatalMessage } from './fatal.js';
import { runOrdersDemo } from './run.js';
import { startTracing } from './tracing.js';

// The composition root: the only place that knows which transport is used.
let bus: EventBus | undefined;

async function main(): Promise<void> {
  const tracing = startTracing(); // OMNIBUS_TRACE=trace.json: spans and metrics to that file
  bus = await createEventBusFromEnv();
  const log = (line: string) => console.log(line);
  console.log(`orders example on the ${bus.backend} bus (${redact(process.env.OMNIBUS_URL ?? 'memory://')})`);

  const shutdown = async (signal: string) => {
    console.log(`received ${signal}, draining…`);
    await bus?.close();
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
  await tracing?.finish();
}

try {
  await main();
} catch (error) {
  // one readable line (DEBUG=omnibus adds the stack), never the client's internals or a credential
  console.error(fatalMessage(error));
  await bus?.close({ timeoutMs: 1_000 }).catch(() => undefined);
  process.exit(1);
}
