/** One handler failure seen by `publishAndWait`. */
export interface HandlerFailure {
  /** Pattern of the subscription whose handler failed. */
  readonly pattern: string;
  readonly group: string | undefined;
  readonly attempt: number;
  readonly error: unknown;
}

/** Follows one message through every target until each has settled it for good. */
export class DeliveryTracker {
  readonly failures: HandlerFailure[] = [];
  #pending = 0;
  #resolve!: () => void;
  readonly done: Promise<void>;

  constructor() {
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** Sets how many targets must finish; resolves at once when none. */
  expect(targets: number): void {
    this.#pending = targets;
    if (targets === 0) this.#resolve();
  }

  fail(failure: HandlerFailure): void {
    this.failures.push(failure);
  }

  /** One target finished with the message (acked, dead-lettered, dropped or gone). */
  finish(): void {
    this.#pending--;
    if (this.#pending <= 0) this.#resolve();
  }
}
