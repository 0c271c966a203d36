import { InvalidArgumentError } from './errors.js';
import { ACK, type DeliveredMessage } from './message.js';
import { timerMs } from './operability.js';
import type { StatsCounter } from './stats.js';
import type { SubscriptionRuntime } from './subscription-runtime.js';
import type { ConsumeOptions, MessageHandler } from './types.js';

/**
 * Starts `consume` on a subscription: each message the subscription hands out
 * (it never holds more than `maxInFlight` unsettled) runs the handler with the
 * contract's error isolation — ack on success (auto mode), nak with backoff on
 * throw, dead-letter at the last attempt. A failing handler cannot affect any
 * other subscription. Installs a drain that waits for running handlers when the
 * subscription closes.
 *
 * The success path allocates nothing beyond what the handler returns: a
 * synchronous handler is acked in the same turn, an async one on its promise.
 */
export function startConsumeLoop(
  runtime: SubscriptionRuntime,
  handler: MessageHandler,
  stats: StatsCounter,
  onError: ConsumeOptions['onError'],
): void {
  const autoAck = runtime.options.ack === 'auto';
  let running = 0;
  let idle: (() => void) | undefined;

  const finished = (): void => {
    if (--running === 0 && idle) {
      const resolve = idle;
      idle = undefined;
      resolve();
    }
  };

  const failed = async (message: DeliveredMessage, error: unknown): Promise<void> => {
    stats.errors++;
    if (!message.settled) {
      const delayMs = runtime.backoffDelay(message.attempt, (fault) =>
        report(
          new InvalidArgumentError('the backoff function threw; the default backoff was used', {
            backend: runtime.backend,
            cause: fault,
          }),
          message,
        ),
      );
      await runtime.settle(message, { kind: 'nak', delayMs, error });
    }
    report(error, message);
  };

  const report = (error: unknown, message: DeliveredMessage): void => {
    if (!onError) return;
    try {
      onError(error, message);
    } catch {
      stats.errors++;
    }
  };

  const fail = (message: DeliveredMessage, error: unknown): void => {
    running++;
    failed(message, error).then(finished, finished);
  };

  const handled = (message: DeliveredMessage): void => {
    if (!autoAck) return;
    try {
      // an ack the backend settles at once returns the shared resolved promise: nothing to wait for
      void runtime.settle(message, ACK);
    } catch {
      stats.errors++; // a backend fault, not the handler's: the message is left to its ack timeout
    }
  };

  const { interceptors } = runtime;
  // an interceptor that failed after a handler that worked: counted, the message is still acked
  const interceptorFault = (): void => {
    stats.errors++;
  };
  const run = (message: DeliveredMessage): void => {
    let result: unknown;
    let async: boolean;
    try {
      result = interceptors.active
        ? interceptors.handle(message, runtime.observed, () => handler(message), interceptorFault)
        : handler(message);
      async =
        result !== null &&
        (typeof result === 'object' || typeof result === 'function') &&
        typeof (result as PromiseLike<unknown>).then === 'function';
    } catch (error) {
      fail(message, error);
      return;
    }
    if (!async) {
      handled(message);
      return;
    }
    running++;
    // Promise.resolve adopts any thenable safely (a throwing or twice-calling then)
    Promise.resolve(result).then(
      () => {
        handled(message);
        finished();
      },
      (error: unknown) => {
        fail(message, error);
        finished();
      },
    );
  };

  /** Waits for running handlers, at most `timeoutMs`; resolves with how many still run. */
  const drain = (timeoutMs: number): Promise<number> => {
    if (running === 0) return Promise.resolve(0);
    return new Promise<number>((resolve) => {
      const timer = setTimeout(done, timerMs(timeoutMs));
      function done() {
        clearTimeout(timer);
        resolve(running);
      }
      const previous = idle;
      idle = () => {
        previous?.();
        done();
      };
    });
  };

  runtime.startDispatch(run, drain);
}
