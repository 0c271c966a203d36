/** What became of one publish. */
export type PublishOutcome = 'acknowledged' | 'rejected' | 'unknown';

/** What a history check found. Pass = nothing acknowledged lost and nothing out of order. */
export interface HistoryReport {
  readonly published: number;
  readonly acknowledged: number;
  readonly rejected: number;
  readonly unknown: number;
  /** Deliveries seen (duplicates included). */
  readonly delivered: number;
  /** Acknowledged publishes no consumer received. */
  readonly lost: number;
  /** Ids of lost publishes (at most 20, for the report). */
  readonly lostIds: readonly string[];
  /** Deliveries beyond the first of the same id to the same consumer. */
  readonly duplicates: number;
  /** First deliveries that came after a later message of the same publisher and subject, per consumer. */
  readonly outOfOrder: number;
  /** Those out-of-order deliveries (at most 20, for the report): the id, and its `attempt` when recorded. */
  readonly outOfOrderDeliveries: readonly { readonly id: string; readonly attempt?: number }[];
  /** Deliveries of publishes that were rejected (the publisher was told they were not sent). */
  readonly rejectedDelivered: number;
  /** Deliveries of ids nobody published. */
  readonly unexpected: number;
  readonly passed: boolean;
}

interface Publish {
  readonly subject: string;
  readonly publisher: string;
  readonly seq: number;
  outcome: PublishOutcome;
}

/**
 * Records every publish (with its outcome) and every delivery of a fault
 * scenario, then checks the history: lost acknowledged publishes, duplicates,
 * out-of-order first deliveries per subject for one publisher and one consumer,
 * and deliveries of rejected publishes. Independent of any backend.
 */
export class History {
  readonly #publishes = new Map<string, Publish>();
  readonly #deliveries: { id: string; consumer: string; attempt?: number }[] = [];
  #seq = new Map<string, number>();

  /** Records a publish about to be sent; returns its sequence number for this publisher. */
  publish(id: string, subject: string, publisher: string): number {
    const seq = (this.#seq.get(publisher) ?? 0) + 1;
    this.#seq.set(publisher, seq);
    this.#publishes.set(id, { subject, publisher, seq, outcome: 'unknown' });
    return seq;
  }

  /** Records what the publisher was told. */
  outcome(id: string, outcome: PublishOutcome): void {
    const p = this.#publishes.get(id);
    if (p) p.outcome = outcome;
  }

  /** Records one delivery to `consumer` (a group counts as one consumer), with its `attempt` if known. */
  deliver(id: string, consumer = 'consumer', attempt?: number): void {
    this.#deliveries.push(attempt === undefined ? { id, consumer } : { id, consumer, attempt });
  }

  /** Acknowledged publishes not delivered yet (to wait for before checking). */
  missing(): number {
    const seen = new Set(this.#deliveries.map((d) => d.id));
    let n = 0;
    for (const [id, p] of this.#publishes) if (p.outcome === 'acknowledged' && !seen.has(id)) n++;
    return n;
  }

  check(): HistoryReport {
    let acknowledged = 0;
    let rejected = 0;
    let unknown = 0;
    for (const p of this.#publishes.values()) {
      if (p.outcome === 'acknowledged') acknowledged++;
      else if (p.outcome === 'rejected') rejected++;
      else unknown++;
    }
    const firstSeen = new Set<string>();
    const deliveredIds = new Set<string>();
    const highest = new Map<string, number>();
    let duplicates = 0;
    let outOfOrder = 0;
    const outOfOrderDeliveries: { id: string; attempt?: number }[] = [];
    let rejectedDelivered = 0;
    let unexpected = 0;
    for (const { id, consumer, attempt } of this.#deliveries) {
      const p = this.#publishes.get(id);
      if (!p) {
        unexpected++;
        continue;
      }
      deliveredIds.add(id);
      const key = `${consumer}\u0000${id}`;
      if (firstSeen.has(key)) {
        duplicates++;
        continue;
      }
      firstSeen.add(key);
      if (p.outcome === 'rejected') rejectedDelivered++;
      const stream = `${consumer}\u0000${p.publisher}\u0000${p.subject}`;
      const top = highest.get(stream) ?? 0;
      if (p.seq < top) {
        outOfOrder++;
        if (outOfOrderDeliveries.length < 20)
          outOfOrderDeliveries.push(attempt === undefined ? { id } : { id, attempt });
      } else highest.set(stream, p.seq);
    }
    const lostIds: string[] = [];
    let lost = 0;
    for (const [id, p] of this.#publishes) {
      if (p.outcome !== 'acknowledged' || deliveredIds.has(id)) continue;
      lost++;
      if (lostIds.length < 20) lostIds.push(id);
    }
    return {
      published: this.#publishes.size,
      acknowledged,
      rejected,
      unknown,
      delivered: this.#deliveries.length,
      lost,
      lostIds,
      duplicates,
      outOfOrder,
      outOfOrderDeliveries,
      rejectedDelivered,
      unexpected,
      passed: lost === 0 && outOfOrder === 0,
    };
  }
}
