import { startConsole } from '@omnibus/cli';
import { type EventBus, redact } from '@omnibus/core';
import { createEventBusFromEnv } from '@omnibus/factory';
import { PAYMENT_LIMIT } from './billing-worker.js';
import { fatalMessage } from './fatal.js';
import { runOrdersDemo } from './run.js';

// `pnpm console`: the demo, then the Omnibus console on the same bus (on memory:// the bus lives in
// this process, so the console must too). The orders over the payment limit are dead-lettered;
// then the fix is deployed (the limit raised to BILLING_LIMIT, default 10,000) and the billing
// workers stay up: redrive the dead letters from the console and watch them being charged here.
let bus: EventBus | undefined;

async function main(): Promise<void> {
  bus = await createEventBusFromEnv();
  const fixed = Number(process.env.BILLING_LIMIT ?? 10_000);
  if (!Number.isFinite(fixed) || fixed <= 0)
    throw new Error(`BILLING_LIMIT must be a positive number, got "${process.env.BILLING_LIMIT}"`);
  const url = process.env.OMNIBUS_URL ?? 'memory://';
  console.log(`orders example on the ${bus.backend} bus (${redact(url)}), with the console`);
  let limit = PAYMENT_LIMIT;
  const summary = await runOrdersDemo(
    bus,
    (line) => console.log(line),
    undefined,
    () => limit,
  );
  limit = fixed; // the fix, deployed: what was refused before is charged when redriven
  const server = await startConsole({
    bus,
    port: Number(process.env.OMNIBUS_CONSOLE_PORT ?? 7070),
    busUrl: url,
  });
  console.log(
    `${summary.deadLettered} orders dead-lettered; billing now accepts totals up to ${fixed}.\n` +
      `console: ${server.url}\n` +
      'Dead letters → select them → Redrive; their "charged … redrive 1" lines appear here. Ctrl-C stops.',
  );
  const stop = async () => {
    await server.close();
    await bus?.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

try {
  await main();
} catch (error) {
  console.error(fatalMessage(error));
  await bus?.close({ timeoutMs: 1_000 }).catch(() => undefined);
  process.exit(1);
}
