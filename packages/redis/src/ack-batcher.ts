/**
 * Gathers the acks of one event-loop turn into one `XACK` per stream (Redis takes
 * many ids in one command): fewer commands for the server and fewer replies to
 * parse than one `XACK` per message. Every ack of a batch shares its outcome.
 */
export class AckBatcher {
  readonly #send: (stream: string, ids: string[]) => Promise<unknown>;
  #pending = new Map<string, Batch>();
  #scheduled = false;
  /** Batches sent and not answered yet. */
  readonly #inFlight = new Set<Promise<void>>();

  constructor(send: (stream: string, ids: string[]) => Promise<unknown>) {
    this.#send = send;
  }

  /** Acknowledges `id` of `stream` with the other acks of this turn; resolves when Redis has. */
  ack(stream: string, id: string): Promise<void> {
    let batch = this.#pending.get(stream);
    if (!batch) {
      batch = new Batch();
      this.#pending.set(stream, batch);
    }
    batch.ids.push(id);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
    return batch.done;
  }

  /**
   * Sends what is gathered now, without waiting for the end of the turn; resolves once every
   * batch sent so far has been answered (whatever the answer): before a closing member's
   * clean-up, which must see its acks.
   */
  flushNow(): Promise<void> {
    this.#flush();
    if (this.#inFlight.size === 0) return Promise.resolve();
    return Promise.allSettled([...this.#inFlight]).then(() => undefined);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const pending = this.#pending;
    if (pending.size === 0) return;
    this.#pending = new Map();
    for (const [stream, batch] of pending) {
      let sent: Promise<unknown>;
      try {
        sent = this.#send(stream, batch.ids);
      } catch (error) {
        sent = Promise.reject(error);
      }
      const done = sent.then(batch.resolve, batch.reject);
      this.#inFlight.add(done);
      void done.finally(() => this.#inFlight.delete(done));
    }
  };
}

class Batch {
  readonly ids: string[] = [];
  resolve!: () => void;
  reject!: (error: unknown) => void;
  readonly done = new Promise<void>((resolve, reject) => {
    this.resolve = resolve;
    this.reject = reject;
  });
}
