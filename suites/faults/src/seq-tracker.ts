import type { HistoryReport } from './history.js';

const PUBLISHED = 1;
const ACKNOWLEDGED = 2;
const REJECTED = 4;

/**
 * The history checker's verdict for long runs, in constant memory per message:
 * publishers are numbered, each publishes on its own subject with sequence
 * numbers 0, 1, 2 … below `capacity`, and one consumer (or group) receives them.
 * A few bytes per message instead of a record, so that a soak measures the bus's
 * memory, not the checker's. Same counts as `History.check()`.
 */
export class SeqTracker {
  readonly #state: Uint8Array[];
  /** Deliveries per message, saturating at 255. */
  readonly #deliveries: Uint8Array[];
  readonly #highest: number[];
  readonly #capacity: number;
  #published = 0;
  #acknowledged = 0;
  #rejected = 0;
  #delivered = 0;
  #duplicates = 0;
  #outOfOrder = 0;
  #rejectedDelivered = 0;
  #unexpected = 0;
  /** Acknowledged, not delivered yet. */
  #missing = 0;

  constructor(publishers: number, capacity: number) {
    this.#capacity = capacity;
    this.#state = Array.from({ length: publishers }, () => new Uint8Array(capacity));
    this.#deliveries = Array.from({ length: publishers }, () => new Uint8Array(capacity));
    this.#highest = Array.from({ length: publishers }, () => -1);
  }

  #valid(publisher: number, seq: number): boolean {
    return (
      Number.isInteger(publisher) &&
      Number.isInteger(seq) &&
      publisher >= 0 &&
      publisher < this.#state.length &&
      seq >= 0 &&
      seq < this.#capacity
    );
  }

  /** Records a publish about to be sent. */
  publish(publisher: number, seq: number): void {
    if (!this.#valid(publisher, seq)) throw new RangeError(`no room for p${publisher} #${seq}`);
    const state = this.#state[publisher] as Uint8Array;
    if (state[seq] === 0) this.#published++;
    state[seq] = PUBLISHED;
  }

  /** Records what the publisher was told. */
  outcome(publisher: number, seq: number, outcome: 'acknowledged' | 'rejected'): void {
    if (!this.#valid(publisher, seq)) return;
    const state = this.#state[publisher] as Uint8Array;
    if (state[seq] !== PUBLISHED) return; // unknown or already decided
    if (outcome === 'acknowledged') {
      state[seq] = PUBLISHED | ACKNOWLEDGED;
      this.#acknowledged++;
      if ((this.#deliveries[publisher] as Uint8Array)[seq] === 0) this.#missing++;
    } else {
      state[seq] = PUBLISHED | REJECTED;
      this.#rejected++;
      if (((this.#deliveries[publisher] as Uint8Array)[seq] as number) > 0) this.#rejectedDelivered++;
    }
  }

  /** Records one delivery. */
  deliver(publisher: number, seq: number): void {
    this.#delivered++;
    if (!this.#valid(publisher, seq) || (this.#state[publisher] as Uint8Array)[seq] === 0) {
      this.#unexpected++;
      return;
    }
    const state = (this.#state[publisher] as Uint8Array)[seq] as number;
    const counts = this.#deliveries[publisher] as Uint8Array;
    const seen = counts[seq] as number;
    if (seen < 255) counts[seq] = seen + 1;
    if (seen > 0) {
      this.#duplicates++;
      return;
    }
    if (state & ACKNOWLEDGED) this.#missing--;
    if (state & REJECTED) this.#rejectedDelivered++;
    if (seq < (this.#highest[publisher] as number)) this.#outOfOrder++;
    else this.#highest[publisher] = seq;
  }

  /** Acknowledged publishes so far. */
  get acknowledged(): number {
    return this.#acknowledged;
  }

  /** Acknowledged publishes not delivered yet. */
  missing(): number {
    return this.#missing;
  }

  check(): HistoryReport {
    const lostIds: string[] = [];
    if (this.#missing > 0) {
      for (let p = 0; p < this.#state.length && lostIds.length < 20; p++) {
        const state = this.#state[p] as Uint8Array;
        const counts = this.#deliveries[p] as Uint8Array;
        for (let s = 0; s < this.#capacity && lostIds.length < 20; s++) {
          if ((state[s] as number) & ACKNOWLEDGED && counts[s] === 0) lostIds.push(`p${p}-${s}`);
        }
      }
    }
    return {
      published: this.#published,
      acknowledged: this.#acknowledged,
      rejected: this.#rejected,
      unknown: this.#published - this.#acknowledged - this.#rejected,
      delivered: this.#delivered,
      lost: this.#missing,
      lostIds,
      duplicates: this.#duplicates,
      outOfOrder: this.#outOfOrder,
      outOfOrderDeliveries: [], // constant memory: counted, not named
      rejectedDelivered: this.#rejectedDelivered,
      unexpected: this.#unexpected,
      passed: this.#missing === 0 && this.#outOfOrder === 0,
    };
  }
}
