/**
 * One partition's offsets as a subscription sees them: which were taken (pushed
 * to the application or skipped), which are done (acked, moved to a retry topic,
 * dead-lettered or skipped), and so the commit point — the lowest offset not yet
 * done. Committing only up to there means an acked message is never redelivered
 * after a clean handover and an unacked one is never skipped.
 */
export class PartitionOffsets {
  /** Offsets taken and not yet done, in order (offsets only grow). */
  readonly #open: number[] = [];
  #head = 0;
  readonly #done = new Set<number>();
  /** Next offset after the highest taken (-1: nothing taken yet). */
  #next = -1;
  #committed = -1;

  /** True when `offset` was already taken by this subscription (a re-fetch after a rebalance or seek). */
  seen(offset: number): boolean {
    return offset < this.#next;
  }

  /** Records a taken offset; returns false when it was already taken. */
  take(offset: number): boolean {
    if (this.seen(offset)) return false;
    this.#open.push(offset);
    this.#next = offset + 1;
    return true;
  }

  /** Marks an offset done. */
  done(offset: number): void {
    this.#done.add(offset);
  }

  /** The offset to commit (the lowest not done) when it is past the last commit; else undefined. */
  commitPoint(): number | undefined {
    while (this.#head < this.#open.length && this.#done.delete(this.#open[this.#head] as number))
      this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#open.length) {
      this.#open.splice(0, this.#head);
      this.#head = 0;
    }
    const point = this.#head < this.#open.length ? (this.#open[this.#head] as number) : this.#next;
    if (point < 0 || point <= this.#committed) return undefined;
    return point;
  }

  /** Records a successful commit of `point`. */
  committed(point: number): void {
    if (point > this.#committed) this.#committed = point;
  }

  /** Offsets taken and not done. */
  get pending(): number {
    return this.#open.length - this.#head;
  }
}
