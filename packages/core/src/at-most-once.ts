import type { DriverReceipt, InboundDelivery } from './driver.js';

const NOTHING = (): void => undefined;

/** What a driver's at-most-once publish resolves with: the fast path never sees a duplicate. */
export const AT_MOST_ONCE_RECEIPT: DriverReceipt = Object.freeze({ duplicate: false });

/**
 * A message received on a driver's at-most-once path (`DriverSubscribeRequest.atMostOnce`), as
 * the sink takes it: attempt 1, and `ack`/`nak` that do nothing (the broker keeps no state).
 */
export function atMostOnceDelivery(
  message: Pick<InboundDelivery, 'id' | 'subject' | 'payload' | 'headers' | 'publishedAt'>,
): InboundDelivery {
  return {
    id: message.id,
    subject: message.subject,
    payload: message.payload,
    headers: message.headers,
    publishedAt: message.publishedAt,
    attempt: 1,
    ack: NOTHING,
    nak: NOTHING,
  };
}
