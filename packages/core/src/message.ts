import type { InboundDelivery } from './driver.js';
import { type ListNode, listNext, listOwner, listPrev, type OrderedList } from './ordered-list.js';
import type { Message, NakOptions } from './types.js';

const decoder = new TextDecoder();

/** How a message is being settled. */
export type Settlement =
  | { kind: 'ack' }
  | { kind: 'nak'; delayMs: number; error?: unknown }
  | { kind: 'term'; reason: string; error?: unknown }
  | { kind: 'release' };

/** The one ack settlement, shared: an ack allocates nothing. */
export const ACK: Settlement = Object.freeze({ kind: 'ack' });

/** Receives settle requests for the messages of one subscription. */
export interface Settler {
  settle(message: DeliveredMessage, settlement: Settlement): Promise<void>;
}

/** The `Message` handed to applications; settles through its subscription. */
export class DeliveredMessage implements Message, ListNode<DeliveredMessage> {
  readonly id: string;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly attempt: number;
  /** Set by the subscription once the application has seen the message. */
  handedOut = false;
  /** @internal epoch ms after which a handed-out, unsettled message is taken back (set at hand-out). */
  deadline = 0;
  /** @internal links of the subscription's list of handed-out, unsettled messages */
  [listPrev]: DeliveredMessage | undefined = undefined;
  /** @internal */
  [listNext]: DeliveredMessage | undefined = undefined;
  /** @internal */
  [listOwner]: OrderedList<DeliveredMessage> | undefined = undefined;
  #settled = false;
  #publishedAt: Date | undefined;
  readonly #settler: Settler;
  readonly delivery: InboundDelivery;

  constructor(delivery: InboundDelivery, settler: Settler) {
    this.delivery = delivery;
    this.id = delivery.id;
    this.subject = delivery.subject;
    this.payload = delivery.payload;
    this.headers = delivery.headers;
    this.attempt = delivery.attempt;
    this.#settler = settler;
  }

  /** Built on first read: most handlers never look at it. */
  get publishedAt(): Date {
    this.#publishedAt ??= new Date(this.delivery.publishedAt);
    return this.#publishedAt;
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

  /**
   * What `JSON.stringify(message)` shows (for logs): id, subject, attempt, time,
   * headers and the payload's size — not the payload itself nor internals.
   */
  toJSON(): {
    id: string;
    subject: string;
    attempt: number;
    publishedAt: string;
    headers: Readonly<Record<string, string>>;
    payloadBytes: number;
  } {
    return {
      id: this.id,
      subject: this.subject,
      attempt: this.attempt,
      publishedAt: this.publishedAt.toISOString(),
      headers: this.headers,
      payloadBytes: this.payload.byteLength,
    };
  }

  text(): string {
    return decoder.decode(this.payload);
  }

  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }

  ack(): Promise<void> {
    return this.#settler.settle(this, ACK);
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
