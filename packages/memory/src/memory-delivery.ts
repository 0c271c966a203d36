import {
  type Headers,
  type InboundDelivery,
  type ListNode,
  listNext,
  listOwner,
  listPrev,
  type OrderedList,
  type SettleInfo,
} from '@omnibus/core';
import type { QueueItem } from './envelope.js';

/** What a delivery settles through: the target that handed it out. */
export interface DeliveryOwner {
  settleAck(delivery: MemoryDelivery, info: SettleInfo): void;
  settleNak(delivery: MemoryDelivery, delayMs: number, info: SettleInfo): void;
}

/**
 * One hand-out of a queued message to one member. Settles synchronously (the
 * memory bus has nothing to wait for), so core spends no promise on it.
 */
export class MemoryDelivery implements InboundDelivery, ListNode<MemoryDelivery> {
  readonly item: QueueItem;
  readonly attempt: number;
  readonly #owner: DeliveryOwner;
  [listPrev]: MemoryDelivery | undefined = undefined;
  [listNext]: MemoryDelivery | undefined = undefined;
  [listOwner]: OrderedList<MemoryDelivery> | undefined = undefined;

  constructor(owner: DeliveryOwner, item: QueueItem) {
    this.#owner = owner;
    this.item = item;
    this.attempt = item.attempt;
  }

  get id(): string {
    return this.item.envelope.id;
  }
  get subject(): string {
    return this.item.envelope.subject;
  }
  get payload(): Uint8Array {
    return this.item.envelope.payload;
  }
  get headers(): Readonly<Headers> {
    return this.item.envelope.headers;
  }
  get publishedAt(): number {
    return this.item.envelope.publishedAt;
  }

  ack(info: SettleInfo): void {
    this.#owner.settleAck(this, info);
  }

  nak(delayMs: number, info: SettleInfo): void {
    this.#owner.settleNak(this, delayMs, info);
  }
}
