import { subscribeWithin } from './bounded-subscribe.js';
import { describeError } from './dead-letter.js';
import type { BusDriver, DriverReceipt, OutgoingMessage } from './driver.js';
import {
  AbortedError,
  BusClosedError,
  ConnectionError,
  InvalidArgumentError,
  OmnibusError,
  PublishError,
} from './errors.js';
import { startConsumeLoop } from './handler-runner.js';
import { generateId } from './message-id.js';
import {
  type BusHealth,
  type BusOptions,
  type BusStatus,
  type Logger,
  log,
  settledWithin,
  timerMs,
  withTimeout,
} from './operability.js';
import { redact } from './redact.js';
import { retryWhileAway } from './retry-while-away.js';
import { createStats } from './stats.js';
import { assertPattern, assertSubject } from './subject.js';
import { SubscriptionRuntime } from './subscription-runtime.js';
import type {
  BatchEntry,
  ConsumeOptions,
  Consumer,
  EventBus,
  Message,
  MessageHandler,
  Payload,
  PublishOptions,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from './types.js';
import { assertMessageId, encodePayload, normalizeHeaders, resolveSubscribeOptions } from './validate.js';

/** The user-facing handle of a subscription or consumer. */
function closable(pattern: string, runtime: SubscriptionRuntime): Consumer {
  return {
    pattern,
    group: runtime.group,
    closed: runtime.closed,
    close: () => runtime.close(),
    [Symbol.asyncDispose]: () => runtime.close(),
  };
}

/** The hint of `error` or of the first cause that has one (what the backend said to do). */
function causeHint(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 4; depth++) {
    if (current instanceof OmnibusError && current.hint) return current.hint;
    current = current.cause;
  }
  return undefined;
}

/**
 * Builds a complete `EventBus` from a transport driver. Everything the contract
 * requires beyond moving bytes — validation, payload limits, receipts, stats,
 * `consume` with retries and dead-letter, `maxInFlight`, `AbortSignal`, drain on
 * close, `BusClosedError` afterwards — is implemented here once for every adapter.
 */
/** How long past its deadline `close()` waits for a subscription to release what it still held. */
const RELEASE_AFTER_DEADLINE_MS = 100;

/** The least time `close()` gives the driver to flush and disconnect, whatever is left of its timeout. */
const CLOSE_DRIVER_FLOOR_MS = 500;

export function createBus(driver: BusDriver, options: BusOptions = {}): EventBus {
  const { backend, capabilities } = driver;
  const logger: Logger = options.logger ?? console;
  const subscribeTimeoutMs = options.subscribeTimeoutMs ?? 0;
  const stats = createStats();
  let connectionLost = false;
  /** Connection losses so far: whether one happened while something was being tried. */
  let losses = 0;
  driver.setStatusListener?.((status: BusStatus) => {
    if (status.connection === 'lost' && !connectionLost) {
      connectionLost = true;
      losses++;
      log(
        logger,
        'warn',
        `[omnibus:${backend}] connection lost${status.detail ? `: ${status.detail}` : ''}; reconnecting`,
      );
    } else if (status.connection === 'restored' && connectionLost) {
      connectionLost = false;
      log(logger, 'warn', `[omnibus:${backend}] connection restored`);
    }
    try {
      options.onStatus?.(status);
    } catch {
      // a throwing listener must not break the bus
    }
  });
  const runtimes = new Set<SubscriptionRuntime>();
  let state: 'open' | 'closing' | 'closed' = 'open';
  let closing: Promise<void> | undefined;
  let subscriptionCounter = 0;

  const assertOpen = () => {
    if (state !== 'open') throw new BusClosedError({ backend });
  };

  const prepare = (subject: string, payload: Payload, options: PublishOptions = {}): OutgoingMessage => {
    assertSubject(subject, backend);
    const dedupe = options.id !== undefined;
    if (dedupe) assertMessageId(options.id, backend);
    return {
      id: options.id ?? generateId(),
      subject,
      payload: encodePayload(payload, capabilities.maxPayloadBytes, backend),
      headers: normalizeHeaders(options.headers, backend),
      publishedAt: Date.now(),
      dedupe,
    };
  };

  const asPublishError = (error: unknown, subject: string) =>
    error instanceof OmnibusError
      ? error
      : new PublishError(`publish to "${subject}" failed`, { backend, cause: error });

  /** `accepted`: the stored prefix; `maybeStored`: later indexes that may have been stored (see PublishError). */
  const batchFailed = (
    error: unknown,
    accepted: PublishReceipt[],
    total: number,
    maybeStored: readonly number[] = [],
  ) => {
    const maybe = [...new Set(maybeStored)]
      .filter((i) => Number.isInteger(i) && i >= accepted.length && i < total)
      .sort((a, b) => a - b);
    const first = accepted.length;
    const stored = first === 0 ? 'none stored' : `entries 0-${first - 1} stored (accepted)`;
    const rest =
      maybe.length === 0
        ? 'the rest were not stored'
        : `${maybe.length} of the rest may have been stored (maybeStored), the others were not`;
    const entries = first === total - 1 ? `entry ${first}` : `entries ${first}–${total - 1}`;
    const again =
      maybe.length === 0
        ? `publish ${entries} again`
        : capabilities.dedupe
          ? `publish ${entries} again with the same ids: those already stored (maybeStored) are deduplicated`
          : `publish again the entries from ${first} on that are not in maybeStored; those in it may be stored already (no dedupe here: again may mean twice)`;
    const why = causeHint(error);
    return new PublishError(`publishBatch failed at entry ${first} of ${total}: ${stored}; ${rest}`, {
      backend,
      cause: error,
      accepted,
      maybeStored: maybe,
      hint: why ? `${why}; then ${again}` : again,
    });
  };

  const ctx = {
    backend,
    capabilities,
    stats,
    logger,
    reportStatus: (status: BusStatus) => {
      try {
        options.onStatus?.(status);
      } catch {
        // a throwing listener must not break the bus
      }
    },
    publishDeadLetter: async (message: OutgoingMessage) => {
      if (state === 'closed') throw new BusClosedError({ backend });
      await driver.publish(message);
    },
    onClosed: (runtime: SubscriptionRuntime) => {
      runtimes.delete(runtime);
    },
  };

  /**
   * Subscribes not over yet, with their attempts (and the stopping of those given
   * up on, or arriving late): `close()` waits for them, bounded, before the driver
   * closes.
   */
  const attemptsUnderWay = new Set<Promise<unknown>>();
  const trackAttempt = (over: Promise<unknown>) => {
    attemptsUnderWay.add(over);
    void over.finally(() => attemptsUnderWay.delete(over));
  };

  /**
   * Watches for an outage from now: the function returned says whether the
   * connection was lost at the start, was lost since, or the backend's probe
   * gets no answer within 2 s now.
   */
  const watchOutage = () => {
    const lostAtStart = connectionLost;
    const lossesAtStart = losses;
    return async () => lostAtStart || losses !== lossesAtStart || (await backendAway());
  };

  /** Whether the backend is unreachable now: its connection is reported lost, or `health()` (its probe) fails within 2 s. */
  const backendAway = async (): Promise<boolean> => connectionLost || !(await bus.health(2_000)).ok;

  const open = async (pattern: string, options: SubscribeOptions): Promise<SubscriptionRuntime> => {
    assertOpen();
    assertPattern(pattern, backend);
    const resolved = resolveSubscribeOptions(options, capabilities, backend, driver.capabilityHints);
    if (resolved.signal?.aborted)
      throw new AbortedError('the subscription was aborted before it started', { backend });
    subscriptionCounter++;
    // names broker-side objects: random, so two processes starting together never share one
    const id = `${globalThis.crypto.randomUUID().slice(0, 8)}${subscriptionCounter.toString(36)}`;
    const runtime = new SubscriptionRuntime(id, pattern, resolved, ctx);
    runtimes.add(runtime);
    // close() waits for this whole start, so that a subscription arriving as the bus closes is
    // stopped before the driver closes, whatever the order in which the two finish
    const opening = openRuntime(runtime, pattern, id, resolved);
    trackAttempt(opening.catch(() => undefined));
    return opening;
  };

  const openRuntime = async (
    runtime: SubscriptionRuntime,
    pattern: string,
    id: string,
    resolved: ReturnType<typeof resolveSubscribeOptions>,
  ): Promise<SubscriptionRuntime> => {
    try {
      let attempts = 0;
      const sub = await retryWhileAway(
        (timeLeftMs) => {
          // a fresh id per attempt: a late-arriving earlier attempt, stopped at once, removes only its own broker objects
          const request = {
            id: attempts++ === 0 ? id : `${id}r${attempts}`,
            pattern,
            group: resolved.group,
            from: resolved.from,
            maxInFlight: resolved.maxInFlight,
            ackTimeoutMs: resolved.ackTimeoutMs,
            sink: runtime,
          };
          return subscribeWithin(driver, request, {
            ms: subscribeTimeoutMs > 0 ? timeLeftMs : 0,
            waitMs: subscribeTimeoutMs,
            ended: runtime.closed,
            track: trackAttempt,
          });
        },
        {
          timeoutMs: subscribeTimeoutMs,
          watchOutage,
          wanted: () => state === 'open' && runtime.isOpen,
          ended: runtime.closed,
        },
      );
      // arrived as the subscription closed: stopped at once (bounded wait; close() waits for this start)
      const lateStop = runtime.attach(sub);
      if (lateStop) await settledWithin(lateStop, 1_000);
    } catch (error) {
      const aborted = !runtime.isOpen;
      runtimes.delete(runtime);
      void runtime.close(0);
      if (state !== 'open') throw new BusClosedError({ backend });
      if (aborted) throw new AbortedError('the subscription was aborted', { backend });
      if (error instanceof OmnibusError) throw error;
      throw new ConnectionError(`subscribe to "${pattern}" failed`, { backend, cause: error });
    }
    if (state !== 'open') {
      await runtime.close(0);
      throw new BusClosedError({ backend });
    }
    if (!runtime.isOpen) {
      // aborted while subscribing
      throw new AbortedError('the subscription was aborted', { backend });
    }
    return runtime;
  };

  const bus: EventBus = {
    backend,
    capabilities,

    async publish(subject: string, payload: Payload, options?: PublishOptions): Promise<PublishReceipt> {
      assertOpen();
      const message = prepare(subject, payload, options);
      let receipt: DriverReceipt;
      try {
        const pending = driver.publish(message);
        // a receipt given at once (in-process backend) costs no extra turn
        receipt =
          typeof (pending as Promise<DriverReceipt>).then === 'function'
            ? await pending
            : (pending as DriverReceipt);
      } catch (error) {
        stats.errors++;
        throw asPublishError(error, subject);
      }
      if (receipt.duplicate) stats.duplicates++;
      else stats.published++;
      return { id: message.id, subject, duplicate: receipt.duplicate, sequence: receipt.sequence };
    },

    async publishBatch(entries: readonly BatchEntry[]): Promise<PublishReceipt[]> {
      assertOpen();
      if (!Array.isArray(entries))
        throw new PublishError('publishBatch expects an array', {
          backend,
          hint: "pass an array of entries, e.g. [{ subject: 'orders.eu.created', payload: '…' }]",
        });
      const messages = entries.map((e) => prepare(e.subject, e.payload, e));
      const toReceipt = (
        m: OutgoingMessage,
        r: { duplicate: boolean; sequence?: string },
      ): PublishReceipt => {
        if (r.duplicate) stats.duplicates++;
        else stats.published++;
        return { id: m.id, subject: m.subject, duplicate: r.duplicate, sequence: r.sequence };
      };
      if (driver.publishBatch) {
        try {
          const receipts = await driver.publishBatch(messages);
          return receipts.map((r, i) => toReceipt(messages[i] as OutgoingMessage, r));
        } catch (error) {
          stats.errors++;
          // configuration and validation errors from the backend pass through unchanged
          if (error instanceof OmnibusError && !(error instanceof PublishError)) throw error;
          const accepted = error instanceof PublishError ? error.accepted : [];
          const receipts = accepted.map((r, i) =>
            toReceipt(messages[i] as OutgoingMessage, r as { duplicate: boolean }),
          );
          // a driver that threw something else says nothing about what it sent: every entry may be stored
          const maybeStored = error instanceof PublishError ? error.maybeStored : messages.map((_, i) => i);
          throw batchFailed(error, receipts, messages.length, maybeStored);
        }
      }
      // one at a time: the entry that failed was not stored (publish's contract), the later ones were not sent
      const receipts: PublishReceipt[] = [];
      for (const m of messages) {
        try {
          receipts.push(toReceipt(m, await driver.publish(m)));
        } catch (error) {
          stats.errors++;
          throw batchFailed(error, receipts, messages.length);
        }
      }
      return receipts;
    },

    async subscribe(pattern: string, options: SubscribeOptions = {}): Promise<Subscription> {
      const runtime = await open(pattern, options);
      return {
        ...closable(pattern, runtime),
        [Symbol.asyncIterator]: (): AsyncIterator<Message> => runtime.iterator(),
      };
    },

    async consume(pattern: string, handler: MessageHandler, options: ConsumeOptions = {}): Promise<Consumer> {
      if (typeof handler !== 'function')
        throw new InvalidArgumentError('consume needs a handler function', { backend });
      const runtime = await open(pattern, options);
      startConsumeLoop(runtime, handler, stats, options.onError);
      return closable(pattern, runtime);
    },

    stats() {
      return { ...stats, ...driver.extraStats?.() };
    },

    async health(timeoutMs = 2_000): Promise<BusHealth> {
      const base = { backend, state, connectionLost };
      if (state !== 'open') return { ...base, ok: false, detail: `the bus is ${state}` };
      if (!driver.probe) return { ...base, ok: !connectionLost };
      const started = performance.now();
      try {
        await withTimeout(driver.probe(), timeoutMs, `no answer within ${timeoutMs} ms`);
        return { ...base, ok: true, latencyMs: Math.round((performance.now() - started) * 1000) / 1000 };
      } catch (error) {
        return { ...base, ok: false, detail: redact(String((error as Error)?.message ?? error)) };
      }
    },

    close(options: { timeoutMs?: number } = {}): Promise<void> {
      closing ??= (async () => {
        state = 'closing';
        const timeoutMs = timerMs(options.timeoutMs ?? 10_000);
        // one deadline for the whole close: subscriptions, subscribe attempts, then the driver
        const deadline = Date.now() + timeoutMs;
        const left = () => Math.max(0, deadline - Date.now());
        // a subscription already closing keeps its own (maybe longer) close: bounded here too
        // (a moment more than the deadline: a subscription closing with it releases what is left just after)
        await Promise.all(
          [...runtimes].map((r) => settledWithin(r.close(timeoutMs), left() + RELEASE_AFTER_DEADLINE_MS)),
        );
        // with the backend away an attempt may settle only once the driver disconnects: wait briefly
        await settledWithin(
          Promise.allSettled([...attemptsUnderWay]),
          connectionLost ? Math.min(left(), 1_000) : left(),
        );
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
          state = 'closed';
        }
        if (failure) throw failure.error;
      })();
      return closing;
    },

    [Symbol.asyncDispose]() {
      return bus.close();
    },
  };
  return bus;
}
