import type { JsMsg } from '@nats-io/jetstream';

/**
 * Sends acks in one socket write per event-loop turn. Each `JsMsg.ack()` is a
 * publish that the client flushes in a microtask of its own, so acks made one
 * message at a time cost one write each — the larger part of consuming at
 * speed. Queued acks go out together on `setImmediate`, or at once on `flush()`
 * (a stopping subscription, a closing connection). Acks are fire-and-forget in
 * JetStream either way: a lost one means a redelivery, never a loss.
 */
export class AckBatcher {
  #pending: JsMsg[] = [];
  #scheduled = false;
  readonly #onError: (error: unknown) => void;

  /** `onError` hears of an ack the client refused (connection closed or draining): that message is redelivered later. */
  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  ack(message: JsMsg): void {
    this.#pending.push(message);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Writes every queued ack now. */
  readonly flush = (): void => {
    this.#scheduled = false;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    for (const m of batch) {
      try {
        m.ack();
      } catch (error) {
        this.#onError(error);
      }
    }
  };
}
