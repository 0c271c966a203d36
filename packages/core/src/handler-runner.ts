import type { DeliveredMessage } from './message.js';
import type { StatsCounter } from './stats.js';
import type { SubscriptionRuntime } from './subscription-runtime.js';
import type { ConsumeOptions, MessageHandler } from './types.js';

/**
 * Runs one handler call with the contract's error isolation: ack on success
 * (auto mode), nak with backoff on throw, dead-letter at the last attempt. Never
 * throws: a failing handler cannot affect any other subscription.
 */
export async function runHandler(
  message: DeliveredMessage,
  handler: MessageHandler,
  runtime: SubscriptionRuntime,
  stats: StatsCounter,
  onError: ConsumeOptions['onError'],
): Promise<void> {
  try {
    await handler(message);
    if (runtime.options.ack === 'auto' && !message.settled) await message.ack();
  } catch (error) {
    stats.errors++;
    if (!message.settled) {
      await runtime.settle(message, {
        kind: 'nak',
        delayMs: runtime.options.backoff(message.attempt),
        error,
      });
    }
    if (onError) {
      try {
        onError(error, message);
      } catch {
        stats.errors++;
      }
    }
  }
}

/**
 * Starts the `consume` loop on a subscription: takes messages as capacity allows
 * (`maxInFlight` bounds concurrency) and runs the handler for each. Installs a
 * drain that waits for running handlers when the subscription closes.
 */
export function startConsumeLoop(
  runtime: SubscriptionRuntime,
  handler: MessageHandler,
  stats: StatsCounter,
  onError: ConsumeOptions['onError'],
): void {
  const running = new Set<Promise<void>>();
  runtime.setDrain(async (timeoutMs) => {
    if (running.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.allSettled([...running]), timeout]);
    clearTimeout(timer);
  });
  void (async () => {
    for (;;) {
      const message = await runtime.take();
      if (!message) return;
      const task = runHandler(message, handler, runtime, stats, onError);
      running.add(task);
      void task.finally(() => running.delete(task));
    }
  })();
}
