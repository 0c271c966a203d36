import type { InboundDelivery } from './driver.js';
import type { Message, NakOptions } from './types.js';

const decoder = new TextDecoder();

/** How a message is being settled. */
export type Settlement =
  | { kind: 'ack' }
  | { kind: 'nak'; delayMs: number; error?: unknown }
  | { kind: 'term'; reason: string; error?: unknown }
  | { kind: 'release' };

/** Receives settle requests for the messages of one subscription. */
export interface Settler {
  settle(message: DeliveredMessage, settlement: Settlement): Promise<void>;
}

/** The `Message` handed to applications; settles through its subscription. */
export class DeliveredMessage implements Message {
  readonly id: string;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly publishedAt: Date;
  readonly attempt: number;
  /** Set by the subscription once the application has seen the message. */
  handedOut = false;
  #settled = false;
  readonly #settler: Settler;
  readonly delivery: InboundDelivery;

  constructor(delivery: InboundDelivery, settler: Settler) {
    this.delivery = delivery;
    this.id = delivery.id;
    this.subject = delivery.subject;
    this.payload = delivery.payload;
    this.headers = delivery.headers;
    this.publishedAt = new Date(delivery.publishedAt);
    this.attempt = delivery.attempt;
    this.#settler = settler;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Marks settled; returns false when it already was (every settle after the first is ignored). */
  claim(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    return true;
  }

  text(): string {
    return decoder.decode(this.payload);
  }

  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }

  ack(): Promise<void> {
    return this.#settler.settle(this, { kind: 'ack' });
  }

  nak(options: NakOptions = {}): Promise<void> {
    const delay = options.delayMs ?? 0;
    return this.#settler.settle(this, {
      kind: 'nak',
      delayMs: Number.isFinite(delay) && delay > 0 ? delay : 0,
    });
  }

  term(reason = 'terminated by the application'): Promise<void> {
    return this.#settler.settle(this, { kind: 'term', reason });
  }
}
