import type { BusStatus } from './operability.js';

/** How many statuses a relay holds while no bus listens yet (the latest are kept). */
const HELD_AT_MOST = 100;

/**
 * The driver's end of the one status path, for adapter authors. A driver reports its status
 * changes to `report`; they reach the listener `createBus` installs through
 * `BusDriver.setStatusListener` (hand it `listen`), and core logs connection loss and
 * recovery, tracks the connection state and forwards each status once to the user's
 * `onStatus`. A driver never calls `onStatus` itself: the adapter passes it to `createBus`.
 * Statuses reported before the bus exists (while connecting) are held — the latest 100 — and
 * passed on when it listens; a start that fails reports through its error instead.
 */
export class StatusRelay {
  #listener: ((status: BusStatus) => void) | undefined;
  #held: BusStatus[] = [];

  /** Passes `status` to the bus, or holds it until the bus listens. */
  readonly report = (status: BusStatus): void => {
    if (this.#listener) {
      this.#listener(status);
      return;
    }
    this.#held.push(status);
    if (this.#held.length > HELD_AT_MOST) this.#held.shift();
  };

  /** What `BusDriver.setStatusListener` does: installs the bus's listener and passes on what was held. */
  readonly listen = (listener: (status: BusStatus) => void): void => {
    this.#listener = listener;
    const held = this.#held;
    this.#held = [];
    for (const status of held) listener(status);
  };
}
