import type { Consumer } from './client.js';

/** The part of librdkafka's consumer (the binding's client under the KafkaJS API) read here. */
interface NativeConsumer {
  committed(
    toppars: { topic: string; partition: number }[],
    timeout: number,
    cb: (error: unknown, offsets: { topic: string; partition: number; offset?: number }[]) => void,
  ): void;
}

/**
 * The group's committed offset of each partition as the member's consumer reads them (an
 * OffsetFetch to the group's coordinator through the consumer, not an admin request), as text;
 * negative: none. Read from the binding's client: the KafkaJS API's `committed()` reports both
 * "no commit" and a commit at offset 0 as `null`.
 */
export function committedOffsets(
  consumer: Consumer,
  partitions: { topic: string; partition: number }[],
  timeoutMs: number,
): Promise<{ topic: string; partition: number; offset: string }[]> {
  if (partitions.length === 0) return Promise.resolve([]);
  const native = (
    consumer as unknown as { _getInternalClient(): NativeConsumer | null }
  )._getInternalClient();
  if (!native) return Promise.reject(new Error('the consumer is not connected'));
  return new Promise((resolve, reject) => {
    native.committed(partitions, timeoutMs, (error, offsets) => {
      if (error) return reject(error);
      resolve(
        offsets.map((o) => ({
          topic: o.topic,
          partition: o.partition,
          offset: String(typeof o.offset === 'number' ? o.offset : -1001),
        })),
      );
    });
  });
}
