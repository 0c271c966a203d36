/**
 * Gathers the acks of one event-loop turn into one `XACK` per stream (Redis takes
 * many ids in one command): fewer commands for the server and fewer replies to
 * parse than one `XACK` per message. Every ack of a batch shares its outcome.
 */
export class AckBatcher {
  readonly #send: (stream: string, ids: string[]) => Promise<unknown>;
  #pending = new Map<string, Batch>();
  #scheduled = false;

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

  readonly #flush = (): void => {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = new Map();
    for (const [stream, batch] of pending) this.#send(stream, batch.ids).then(batch.resolve, batch.reject);
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
