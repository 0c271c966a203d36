import { settledWithin, TimeoutError } from '@omnibus/core';
import {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  ErrorCodes,
  errorCode,
  type Kafka,
  type KafkaMessage,
  type TopicPartitionOffset,
} from './client.js';
import { forgetMetadata, LockStorages, severable, severableAsync } from './disconnected-client.js';

/** One partition to read: from its low watermark up to `high` (exclusive), both taken when the read began. */
export interface PartitionRange {
  readonly topic: string;
  readonly partition: number;
  readonly low: number;
  readonly high: number;
}

/** A record read back, with where it is stored. */
export interface SnapshotRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly message: KafkaMessage;
}

/** What a snapshot read needs. */
export interface SnapshotReadRequest {
  readonly kafka: Kafka;
  readonly admin: Admin;
  /** The throw-away consumer group: never committed, deleted when the read ends. */
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  readonly maxWaitTimeMs: number;
  /** Read completely before anything of `then` is handed out. */
  readonly first: readonly PartitionRange[];
  readonly then: readonly PartitionRange[];
  readonly signal?: AbortSignal | undefined;
}

/** Without any sign of progress (a batch, a join, the caller taking a record) for this long, the read fails. */
const STALL_MS = 30_000;
/** After this long without a batch, the low watermarks of the partitions not done are read again. */
const RECHECK_AFTER_MS = 2_000;
/** Longest the consumer may take to leave its group when the read ends. */
const DISCONNECT_WAIT_MS = 5_000;
/** Tries at deleting the throw-away group (a member that has not left yet makes it "not empty"). */
const DELETE_TRIES = 5;
const DELETE_PAUSE_MS = 200;

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Wakes whoever waits on it; a wait also ends on its own after `ms`. */
class Bell {
  readonly #waiters = new Set<() => void>();

  wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }

  ring(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** The consumer's next fetch position of each partition (librdkafka's), where it knows one. */
function positions(
  consumer: Consumer,
  partitions: { topic: string; partition: number }[],
): Map<string, number> {
  const internal = (consumer as unknown as { _getInternalClient?: () => unknown })._getInternalClient?.() as
    | {
        position(
          toppars: { topic: string; partition: number }[],
        ): { topic: string; partition: number; offset?: number }[];
      }
    | undefined;
  const out = new Map<string, number>();
  try {
    for (const p of internal?.position(partitions) ?? [])
      if (typeof p.offset === 'number' && p.offset >= 0) out.set(keyOf(p.topic, p.partition), p.offset);
  } catch {
    // not known yet: the next idle second asks again
  }
  return out;
}

/**
 * Reads every record of the given partitions from the low watermark up to the high watermark
 * taken when the read began, `first` before `then`, and ends — also while publishers go on.
 *
 * The client reads only through a consumer group, so the read joins a group of its own (one
 * member, every partition; its rebalance callback starts each partition at its low watermark),
 * never commits, and deletes the group when it ends. Records pass one batch at a time:
 * `eachBatch` hands its records over and waits until the caller took them, so memory holds one
 * batch however slowly the caller iterates. A partition is done at its mark — by a record at or
 * past `high - 1`, by the consumer's position reaching the mark (records it skipped: control
 * records, compaction gaps), or by its low watermark reaching the mark (records deleted
 * meanwhile) — and is paused then. A partition of `then` waits (paused) until `first` is done.
 */
export async function* readSnapshot(request: SnapshotReadRequest): AsyncGenerator<SnapshotRecord> {
  const { kafka, admin, groupId, signal } = request;
  const ranges = new Map<string, PartitionRange>();
  const firstLeft = new Set<string>();
  for (const r of request.first) {
    if (r.high <= r.low) continue;
    ranges.set(keyOf(r.topic, r.partition), r);
    firstLeft.add(keyOf(r.topic, r.partition));
  }
  for (const r of request.then) if (r.high > r.low) ranges.set(keyOf(r.topic, r.partition), r);
  const left = new Set(ranges.keys());
  if (left.size === 0 || signal?.aborted) return;
  const topics = [...new Set([...ranges.values()].map((r) => r.topic))];

  /** The next offset to hand out per partition (a batch fetched again is not handed out twice). */
  const next = new Map<string, number>();
  const buffer: SnapshotRecord[] = [];
  const toCaller = new Bell();
  const toBatch = new Bell();
  let closed = false;
  let lastProgress = Date.now();
  /** Partitions of `then` paused until `first` is done → their resume. */
  const held = new Map<string, () => void>();
  const onAbort = () => toCaller.ring();
  signal?.addEventListener('abort', onAbort, { once: true });

  // the client keeps its config after the disconnect: the callback holds only a link, cut then
  const rebalance = severable((event: { code: number }, assignment: TopicPartitionOffset[]) => {
    lastProgress = Date.now();
    if (event.code !== ErrorCodes.ERR__ASSIGN_PARTITIONS) return undefined;
    return assignment.map((tp) => {
      const range = ranges.get(keyOf(tp.topic, tp.partition));
      return range ? { topic: tp.topic, partition: tp.partition, offset: range.low } : tp;
    });
  });
  const consumer: Consumer = kafka.consumer({
    kafkaJS: {
      groupId,
      sessionTimeout: request.sessionTimeoutMs,
      heartbeatInterval: Math.min(1_000, Math.floor(request.sessionTimeoutMs / 3)),
      maxWaitTimeInMs: request.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      autoCommit: false,
      fromBeginning: false,
    },
    // every partition of the snapshot starts at its low watermark (a new group commits nothing)
    rebalance_cb: rebalance.callback,
  });

  const pauseOne = (topic: string, partition: number) => {
    try {
      consumer.pause([{ topic, partitions: [partition] }]);
    } catch {
      // the consumer stopped meanwhile: the read is ending anyway
    }
  };

  const reached = (key: string) => {
    if (!left.delete(key)) return;
    const range = ranges.get(key) as PartitionRange;
    if (!closed) {
      pauseOne(range.topic, range.partition);
      if (firstLeft.delete(key) && firstLeft.size === 0) {
        for (const resume of held.values()) resume();
        held.clear();
      }
    }
    toCaller.ring();
  };

  const eachBatch = async ({ batch, resolveOffset, pause }: EachBatchPayload) => {
    lastProgress = Date.now();
    const key = keyOf(batch.topic, batch.partition);
    const range = ranges.get(key);
    if (!range || !left.has(key)) {
      pause(); // not part of the snapshot, or done: records published since
      return;
    }
    if (firstLeft.size > 0 && !firstLeft.has(key)) {
      const resume = pause() as unknown as () => void; // `then` waits for `first`
      held.set(key, () => {
        try {
          resume();
        } catch {
          // the consumer stopped meanwhile
        }
      });
      return;
    }
    let done = false;
    for (const m of batch.messages) {
      const offset = Number(m.offset);
      if (offset >= range.high) {
        done = true;
        break;
      }
      resolveOffset(m.offset); // where the client fetches next (nothing is committed)
      if (offset < (next.get(key) ?? range.low)) continue;
      next.set(key, offset + 1);
      buffer.push({ topic: batch.topic, partition: batch.partition, offset, message: m });
      if (offset >= range.high - 1) {
        done = true;
        break;
      }
    }
    // the records are in the buffer, in order, before any of a later batch: done may be said now
    if (done) reached(key);
    toCaller.ring();
    while (buffer.length > 0 && !closed) await toBatch.wait(1_000);
  };

  /**
   * Partitions read up to their mark although no record said so (the consumer skipped what was
   * left: control records, compaction gaps), or whose records up to the mark were all deleted
   * meanwhile (retention, deleteRecords), are done.
   */
  const recheck = async () => {
    const pending = [...left].map((k) => ranges.get(k) as PartitionRange);
    const at = positions(consumer, pending);
    for (const r of pending) {
      const key = keyOf(r.topic, r.partition);
      if ((at.get(key) ?? -1) >= r.high && buffer.length === 0) reached(key);
    }
    for (const topic of [...new Set(pending.map((r) => r.topic))]) {
      // best effort: the next idle second asks again
      const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
      for (const p of offsets) {
        const key = keyOf(topic, p.partition);
        const range = ranges.get(key);
        if (range && left.has(key) && Number(p.low) >= range.high) reached(key);
      }
    }
  };

  const batches = severableAsync(eachBatch);
  const lockStorages = new LockStorages();
  try {
    await consumer.connect();
    await consumer.subscribe({ topics });
    await lockStorages.capture(() =>
      consumer.run({
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: batches.callback,
      }),
    );
    for (;;) {
      if (signal?.aborted) return;
      const record = buffer.shift();
      if (record) {
        if (buffer.length === 0) toBatch.ring();
        yield record;
        lastProgress = Date.now();
        continue;
      }
      if (left.size === 0) return;
      await toCaller.wait(1_000);
      const idle = Date.now() - lastProgress;
      if (idle > STALL_MS) {
        throw new TimeoutError(
          `reading the stored records stalled: no progress for ${STALL_MS} ms with ${left.size} partition(s) not read up to where they ended when the read began`,
          { backend: 'kafka' },
        );
      }
      if (idle > RECHECK_AFTER_MS && buffer.length === 0) await recheck();
    }
  } finally {
    closed = true;
    signal?.removeEventListener('abort', onAbort);
    toBatch.ring();
    // the client keeps its consumer (and what it was given) after the disconnect: not the read's
    await settledWithin(lockStorages.disconnect(consumer), DISCONNECT_WAIT_MS);
    batches.sever();
    rebalance.sever();
    forgetMetadata(consumer);
    await deleteGroup(admin, groupId);
  }
}

/**
 * Deletes the throw-away group (best effort, bounded). A member whose leave has not been seen yet
 * makes the group "not empty" for a moment: a few tries. A group that is gone already is fine; one
 * left behind (the broker unreachable) has no offsets and is dropped by the broker on its own.
 */
async function deleteGroup(admin: Admin, groupId: string): Promise<void> {
  for (let attempt = 1; attempt <= DELETE_TRIES; attempt++) {
    try {
      await admin.deleteGroups([groupId]);
      return;
    } catch (error) {
      const groups = (error as { groups?: { error?: unknown }[] }).groups ?? [];
      if (groups.some((g) => errorCode(g.error) === ErrorCodes.ERR_GROUP_ID_NOT_FOUND)) return;
      if (attempt < DELETE_TRIES) await sleep(DELETE_PAUSE_MS * attempt);
    }
  }
}
