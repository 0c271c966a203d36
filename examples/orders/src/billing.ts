import { type EventBus, redact } from '@omnibus/core';
import { createEventBusFromEnv } from '@omnibus/factory';
import { PAYMENT_LIMIT, startBillingWorker } from './billing-worker.js';
import { fatalMessage } from './fatal.js';
import { createPrinter, legend } from './output.js';

// `pnpm billing`: the billing group alone, until Ctrl-C — what picks up orders redriven from the
// dead letters (`omnibus dlq redrive`). BILLING_LIMIT raises the payment limit: the fix deployed.
let bus: EventBus | undefined;

async function main(): Promise<void> {
  const limit = Number(process.env.BILLING_LIMIT ?? PAYMENT_LIMIT);
  if (!Number.isFinite(limit) || limit <= 0)
    throw new Error(`BILLING_LIMIT must be a positive number, got "${process.env.BILLING_LIMIT}"`);
  bus = await createEventBusFromEnv();
  console.log(
    `billing on the ${bus.backend} bus (${redact(process.env.OMNIBUS_URL ?? 'memory://')}), payment limit ${limit}; Ctrl-C stops it`,
  );
  const width = 'order-xxxxxxxx-10'.length;
  console.log(legend(width).at(-1)); // the column headings
  const print = createPrinter((line) => console.log(line), width);
  await startBillingWorker(bus, 'worker-a', print, () => {}, new Set(), limit);
  const stop = async () => {
    await bus?.close();
    const stats = bus?.stats();
    console.log(
      `stopped: delivered ${stats?.delivered}, acked ${stats?.acked}, dead-lettered ${stats?.deadLettered}`,
    );
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
