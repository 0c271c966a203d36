import { type ICustomPartitioner, Partitioners, type RecordMetadata } from 'kafkajs';

/** The partition kafkajs chose for each record on its last attempt to send it. */
const chosen = new WeakMap<object, number>();

/**
 * kafkajs's default partitioner (the Java client's murmur2 of the key), noting
 * the partition it picks for each record so that `unsent` can tell which records
 * a send left out.
 */
export const notingPartitioner: ICustomPartitioner = () => {
  const pick = Partitioners.DefaultPartitioner();
  return (args) => {
    const partition = pick(args);
    chosen.set(args.message, partition);
    return partition;
  };
};

/**
 * The records of a `sendBatch` that resolved without sending them: those whose
 * topic-partition has no result in `metadata`.
 *
 * kafkajs 2.2.4 keeps, across the retries of one send, the answer of each broker
 * that answered. When a broker answers "not the leader" for one partition and the
 * new leader is a broker that already answered for another, the retry sends that
 * partition nowhere and the send still resolves. Seen with one broker of three
 * paused: four acknowledged records were never stored. Their sequence numbers were
 * rolled back with the failed request, so sending them again on the same
 * idempotent producer is the retry kafkajs meant to make.
 */
export function unsent<T extends { readonly record: object; readonly topic: string }>(
  items: readonly T[],
  metadata: readonly RecordMetadata[],
): T[] {
  const answered = new Set(metadata.map((m) => `${m.topicName}\u0000${m.partition}`));
  return items.filter(({ record, topic }) => {
    const partition = chosen.get(record);
    return partition === undefined || !answered.has(`${topic}\u0000${partition}`);
  });
}

/** The result of the partition a record went to, if the send answered for it. */
export function resultOf(record: object, topic: string, metadata: readonly RecordMetadata[]) {
  const partition = chosen.get(record);
  return metadata.find((m) => m.topicName === topic && m.partition === partition);
}
