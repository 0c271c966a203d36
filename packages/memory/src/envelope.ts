import type { Headers } from '@omnibus/core';
import type { DeliveryTracker } from './delivery-tracker.js';

/** A message as the memory bus stores it (one per publish, shared by every target). */
export interface Envelope {
  readonly id: string;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly headers: Readonly<Headers>;
  readonly publishedAt: number;
  readonly sequence: number;
  /** Set for `publishAndWait`. */
  readonly tracker: DeliveryTracker | undefined;
}

/** One envelope queued for one target, with its delivery attempt. */
export interface QueueItem {
  readonly envelope: Envelope;
  attempt: number;
  /** Earliest redelivery time (epoch ms); 0 = ready. */
  notBefore: number;
}
