import type { BusState } from './bus-state.js';
import { describeError } from './dead-letter.js';
import type { BusDriver } from './driver.js';
import { type Logger, log, settledWithin, timerMs } from './operability.js';
import type { StatsCounter } from './stats.js';
import type { Subscriptions } from './subscriptions.js';

/** The least time `close()` gives the driver to flush and disconnect, whatever is left of its timeout. */
const CLOSE_DRIVER_FLOOR_MS = 500;

/** What closing a bus touches. */
export interface ClosingBus {
  readonly driver: BusDriver;
  readonly state: BusState;
  readonly subscriptions: Subscriptions;
  readonly stats: StatsCounter;
  readonly logger: Logger;
}

/**
 * `close()`: stops intake, drains every subscription, waits for subscribe attempts, then
 * closes the driver — all within one deadline (`timeoutMs`, default 10 s). The bus is
 * `closing` from the first step and `closed` at the end, whatever fails on the way.
 */
export async function closeBus(bus: ClosingBus, options: { timeoutMs?: number }): Promise<void> {
  const { driver, state, subscriptions, stats, logger } = bus;
  const { backend } = driver;
  state.phase = 'closing';
  const timeoutMs = timerMs(options.timeoutMs ?? 10_000);
  // one deadline for the whole close: subscriptions, subscribe attempts, then the driver
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(0, deadline - Date.now());
  await subscriptions.closeAll(timeoutMs, left);
  // the driver gets what is left, and at least CLOSE_DRIVER_FLOOR_MS to flush and disconnect;
  // past that, close() resolves and the driver finishes in the background
  let failure: { error: unknown } | undefined;
  const closingDriver = Promise.resolve()
    .then(() => driver.close())
    .catch((error: unknown) => {
      failure = { error };
      stats.errors++;
    });
  try {
    if (!(await settledWithin(closingDriver, Math.max(left(), CLOSE_DRIVER_FLOOR_MS))))
      log(
        logger,
        'warn',
        `[omnibus:${backend}] the connection did not close within close({ timeoutMs: ${timeoutMs} }); it goes on closing in the background`,
      );
    void closingDriver.then(() => {
      if (failure)
        log(
          logger,
          'warn',
          `[omnibus:${backend}] closing the connection failed: ${describeError(failure.error)}`,
        );
    });
  } finally {
    state.phase = 'closed';
  }
  if (failure) throw failure.error;
}
