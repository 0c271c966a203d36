import type { BusDriver, DriverReceipt, OutgoingMessage } from './driver.js';
import { OmnibusError, PublishError } from './errors.js';
import type { Interceptors } from './interceptors.js';
import { generateId } from './message-id.js';
import type { Observers } from './observer.js';
import { rejectUnknownOptions } from './options.js';
import type { StatsCounter } from './stats.js';
import { assertSubject } from './subject.js';
import type { BatchEntry, DeliveryLevel, Payload, PublishOptions, PublishReceipt } from './types.js';
import { assertMessageId, encodePayload, normalizeHeaders, resolveDelivery } from './validate.js';

/** The option names of `publish` (`PublishOptions`) and the fields of a `publishBatch` entry. */
const PUBLISH_OPTIONS: readonly string[] = ['id', 'headers', 'delivery'];
const BATCH_ENTRY_FIELDS: readonly string[] = ['subject', 'payload', ...PUBLISH_OPTIONS];

/** What the publisher reports: publishes under way (for `activity()`), and events to observers. */
export interface PublishTracking {
  /** Publishes and batches sent and not answered yet. */
  publishing: number;
  readonly observers: Observers;
  /** What runs around each publish (tracing: it adds headers). */
  readonly interceptors: Interceptors;
}

/** The publishing half of a bus: `publish` and `publishBatch`. */
export interface Publisher {
  publish(subject: string, payload: Payload, options?: PublishOptions): Promise<PublishReceipt>;
  publishBatch(entries: readonly BatchEntry[]): Promise<PublishReceipt[]>;
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
 * Validates what is published (subject, id, payload limit, headers) before anything is
 * sent, hands it to the driver, counts it in `stats`, and turns the driver's answer into
 * receipts — or into a `PublishError` that says what a failed batch stored. `assertOpen`
 * throws `BusClosedError` once the bus is closing: nothing is published then.
 */
export function createPublisher(
  driver: BusDriver,
  stats: StatsCounter,
  assertOpen: () => void,
  tracking: PublishTracking,
  defaultDelivery: DeliveryLevel = 'at-least-once',
): Publisher {
  const { backend, capabilities } = driver;
  const { observers, interceptors } = tracking;

  const prepare = (
    subject: string,
    payload: Payload,
    options: PublishOptions = {},
    known: readonly string[] = PUBLISH_OPTIONS,
  ): OutgoingMessage => {
    assertSubject(subject, backend);
    // a misspelt `id` would quietly lose deduplication: refused, with a suggestion (a cheap loop first)
    for (const key in options)
      if (!known.includes(key))
        rejectUnknownOptions(options, known, {
          backend,
          what: known === PUBLISH_OPTIONS ? 'publish option' : 'batch entry field',
        });
    // only a missing level takes the default: null or any other value is refused below
    const level = options.delivery === undefined ? defaultDelivery : options.delivery;
    const atMostOnce =
      level !== 'at-least-once' && resolveDelivery(level, capabilities, backend) === 'at-most-once';
    if (options.id !== undefined) assertMessageId(options.id, backend);
    const now = Date.now();
    // one shape for both levels (`atMostOnce` set or undefined): the send path stays monomorphic
    return {
      id: options.id ?? generateId(now),
      subject,
      payload: encodePayload(payload, capabilities.maxPayloadBytes, backend),
      headers: normalizeHeaders(options.headers, backend),
      publishedAt: now,
      dedupe: options.id !== undefined && !atMostOnce,
      atMostOnce: atMostOnce ? true : undefined,
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

  const toReceipt = (m: OutgoingMessage, r: { duplicate: boolean; sequence?: string }): PublishReceipt => {
    if (r.duplicate) stats.duplicates++;
    else stats.published++;
    const receipt = { id: m.id, subject: m.subject, duplicate: r.duplicate, sequence: r.sequence };
    if (observers.wants.published)
      observers.emit({
        type: 'published',
        backend,
        message: {
          id: m.id,
          subject: m.subject,
          payload: m.payload.slice(), // the publisher may reuse its buffer
          headers: m.headers,
          publishedAt: new Date(m.publishedAt),
        },
        receipt,
      });
    return receipt;
  };

  /** Counts a refused publish, tells observers, and returns the error the caller gets. */
  const publishFailed = (message: OutgoingMessage, error: unknown): OmnibusError => {
    stats.errors++;
    const publishError = asPublishError(error, message.subject);
    failed([message], publishError);
    return publishError;
  };

  const failed = (messages: readonly OutgoingMessage[], error: unknown): void => {
    if (!observers.wants['publish-failed']) return;
    for (const m of messages)
      observers.emit({ type: 'publish-failed', backend, subject: m.subject, id: m.id, error });
  };

  return {
    async publish(subject, payload, options) {
      assertOpen();
      const message = prepare(subject, payload, options);
      if (interceptors.active) {
        tracking.publishing++;
        try {
          const [receipt] = await interceptors.publish(
            [message],
            false,
            async () => [await sendOne(message)],
            interceptorFaults([message]),
          );
          return receipt as PublishReceipt;
        } finally {
          tracking.publishing--;
        }
      }
      tracking.publishing++;
      try {
        const sent = sendOne(message);
        // a receipt given at once (in-process backend) costs no extra turn
        return sent instanceof Promise ? await sent : sent;
      } finally {
        tracking.publishing--;
      }
    },

    async publishBatch(entries) {
      assertOpen();
      if (!Array.isArray(entries))
        throw new PublishError('publishBatch expects an array', {
          backend,
          hint: "pass an array of entries, e.g. [{ subject: 'orders.eu.created', payload: '…' }]",
        });
      const messages = entries.map((e) => prepare(e.subject, e.payload, e, BATCH_ENTRY_FIELDS));
      tracking.publishing++;
      try {
        if (interceptors.active)
          return [
            ...(await interceptors.publish(
              messages,
              true,
              () => sendBatch(messages),
              interceptorFaults(messages),
            )),
          ];
        return await sendBatch(messages);
      } finally {
        tracking.publishing--;
      }
    },
  };

  /**
   * Sends one message and makes its receipt; a receipt the driver gives at once (in-process
   * backend) is returned at once, without a promise.
   */
  function sendOne(message: OutgoingMessage): PublishReceipt | Promise<PublishReceipt> {
    let pending: DriverReceipt | Promise<DriverReceipt>;
    try {
      pending = driver.publish(message);
    } catch (error) {
      throw publishFailed(message, error);
    }
    if (typeof (pending as Promise<DriverReceipt>).then !== 'function')
      return toReceipt(message, pending as DriverReceipt);
    return Promise.resolve(pending).then(
      (receipt) => toReceipt(message, receipt),
      (error: unknown) => {
        throw publishFailed(message, error);
      },
    );
  }

  /**
   * What an interceptor's own failure means: before the send, nothing was sent — the caller gets
   * the interceptor's typed error (a header it set was invalid) or a `PublishError`, counted and
   * reported; after a send that worked, the publish stands and the failure is counted in `errors`.
   */
  function interceptorFaults(messages: readonly OutgoingMessage[]) {
    return {
      beforeSend(error: unknown): Error {
        stats.errors++;
        const refused =
          error instanceof OmnibusError
            ? error
            : new PublishError('a publish interceptor failed before sending: nothing was sent', {
                backend,
                cause: error,
              });
        failed(messages, refused);
        return refused;
      },
      afterSend(): void {
        stats.errors++;
      },
    };
  }

  async function sendBatch(messages: OutgoingMessage[]): Promise<PublishReceipt[]> {
    // a driver's batch path is its at-least-once one: a batch with at-most-once entries goes
    // entry by entry (the fast path costs no round trip anyway)
    if (driver.publishBatch && !messages.some((m) => m.atMostOnce)) {
      try {
        const receipts = await driver.publishBatch(messages);
        return receipts.map((r, i) => toReceipt(messages[i] as OutgoingMessage, r));
      } catch (error) {
        stats.errors++;
        // configuration and validation errors from the backend pass through unchanged
        if (error instanceof OmnibusError && !(error instanceof PublishError)) {
          failed(messages, error);
          throw error;
        }
        const accepted = error instanceof PublishError ? error.accepted : [];
        const receipts = accepted.map((r, i) =>
          toReceipt(messages[i] as OutgoingMessage, r as { duplicate: boolean }),
        );
        // a driver that threw something else says nothing about what it sent: every entry may be stored
        const maybeStored = error instanceof PublishError ? error.maybeStored : messages.map((_, i) => i);
        const batchError = batchFailed(error, receipts, messages.length, maybeStored);
        failed(messages.slice(receipts.length), batchError);
        throw batchError;
      }
    }
    // one at a time: the entry that failed was not stored (publish's contract), the later ones were not sent
    const receipts: PublishReceipt[] = [];
    for (const m of messages) {
      try {
        receipts.push(toReceipt(m, await driver.publish(m)));
      } catch (error) {
        stats.errors++;
        const batchError = batchFailed(error, receipts, messages.length);
        failed(messages.slice(receipts.length), batchError);
        throw batchError;
      }
    }
    return receipts;
  }
}
