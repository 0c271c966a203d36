/** What became of a message's latest copy here: held (buffered or handed out), nakked, or acked. */
type CopyState = 'out' | 'nakked' | 'done';

/** What to do with a copy that just arrived. */
export type CopyVerdict =
  /** Hand it out as this delivery (the attempt before releases). */
  | { kind: 'deliver'; deliveryCount: number }
  /** A second copy of a message this subscription still holds: drop it (the held copy's settle decides). */
  | { kind: 'drop' }
  /** A copy of a message this subscription already settled: ack it too, hand nothing out. */
  | { kind: 'ack' };

/** How many settled messages are remembered (oldest forgotten first). */
const REMEMBERED = 4_096;

/**
 * The copies of each message one pull loop has handed on, by stream sequence.
 * nats-server before 2.10.14 (nats-io/nats-server#5305, #5338) delivers a message twice
 * after a failed delivery of a redelivery — a pull request whose client stopped listening
 * (missed heartbeats, a stopped fetch): both copies arrive, and the second may count
 * deliveries from 1 again. Handed out as they come, one message would run twice at once
 * and its attempts would read 1, 2, 1. So a copy of a message still held here is dropped
 * (the held copy's ack or nak decides), and a copy of a settled message is acked. A
 * nakked message's next copy is its next attempt: on a consumer this loop has to itself
 * (an ungrouped subscription), by the loop's own count — copies lost to a dead pull
 * request are not attempts. On a group's shared consumer the count only tells a
 * redelivery (above 1) from a first delivery: the server's count, never going back;
 * the attempt itself comes from the group's hand-out ledger (see HandOutLedger). A
 * message seen here for the first time takes the server's count. Bounded: messages held or nakked, and the last
 * 4,096 settled.
 */
export class DeliveryCounts {
  readonly #seen = new Map<number, { count: number; state: CopyState }>();
  readonly #exclusive: boolean;
  #settled = 0;

  /** `exclusive`: only this loop reads the consumer (ungrouped), so every copy it did not hand on was lost. */
  constructor(exclusive: boolean) {
    this.#exclusive = exclusive;
  }

  /** A copy of stream sequence `seq` arrived with the server's `deliveryCount`. */
  arrived(seq: number, deliveryCount: number): CopyVerdict {
    const before = this.#seen.get(seq);
    if (before?.state === 'out') return { kind: 'drop' };
    if (before?.state === 'done') return { kind: 'ack' };
    const count = !before
      ? deliveryCount
      : this.#exclusive
        ? before.count + 1
        : Math.max(deliveryCount, before.count + 1);
    this.#seen.delete(seq); // re-inserted last: the oldest settled stay first
    this.#seen.set(seq, { count, state: 'out' });
    return { kind: 'deliver', deliveryCount: count };
  }

  /** The held copy of `seq` was nakked: the next copy is its redelivery. */
  nakked(seq: number): void {
    const entry = this.#seen.get(seq);
    if (entry?.state === 'out') entry.state = 'nakked';
  }

  /** The held copy of `seq` was acked (handled or dead-lettered). */
  settled(seq: number): void {
    const entry = this.#seen.get(seq);
    if (!entry || entry.state === 'done') return;
    entry.state = 'done';
    if (++this.#settled <= REMEMBERED) return;
    for (const [oldest, e] of this.#seen) {
      if (e.state !== 'done') continue;
      this.#seen.delete(oldest);
      this.#settled--;
      break;
    }
  }
}
