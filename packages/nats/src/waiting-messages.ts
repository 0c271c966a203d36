import type { JsMsg } from '@nats-io/jetstream';

/**
 * Messages pulled into a subscription's buffer and not handed out yet. The server's
 * ack wait runs from the pull, so while any wait, each gets a `working()` (`+WPI`)
 * every half ack wait: a message waiting behind a slow iterator is never redelivered
 * (maybe to another member) before anyone saw it. Core's ack timeout starts at hand-out.
 */
export class WaitingMessages {
  readonly #messages = new Set<JsMsg>();
  readonly #periodMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The consumer's actual ack wait (ms) this keeps messages alive for. */
  readonly ackWaitMs: number;

  constructor(ackWaitMs: number) {
    this.ackWaitMs = ackWaitMs;
    this.#periodMs = Math.max(100, Math.floor(ackWaitMs / 2));
  }

  /** The messages waiting now. */
  messages(): JsMsg[] {
    return [...this.#messages];
  }

  add(m: JsMsg): void {
    this.#messages.add(m);
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      for (const waiting of this.#messages) waiting.working();
    }, this.#periodMs);
    this.#timer.unref?.();
  }

  delete(m: JsMsg): void {
    if (!this.#messages.delete(m) || this.#messages.size > 0) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  clear(): void {
    this.#messages.clear();
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
