import { BusClosedError } from './errors.js';

/** Where a bus is in its life: `open`, then `closing` once `close()` began, then `closed`. */
export type BusPhase = 'open' | 'closing' | 'closed';

/** A bus's phase, read by publishing, subscribing, health and close. */
export class BusState {
  readonly #backend: string;
  phase: BusPhase = 'open';

  constructor(backend: string) {
    this.#backend = backend;
  }

  get isOpen(): boolean {
    return this.phase === 'open';
  }

  /** Throws `BusClosedError` once `close()` began. */
  readonly assertOpen = (): void => {
    if (this.phase !== 'open') throw new BusClosedError({ backend: this.#backend });
  };
}
