import { type BusStatus, type Logger, log } from './operability.js';

/**
 * The one place a bus's status goes through. Drivers report every status change here
 * (through `BusDriver.setStatusListener`), and so does the subscription runtime (dead
 * letters failing, working again): it is logged when it is a connection loss or recovery,
 * remembered as the connection state (`lost`, read by `health()`, `close()` and subscribe's
 * retries), and forwarded once to the user's `onStatus`. Adapters never call `onStatus`
 * themselves: they hand it to `createBus`.
 */
export class ConnectionStatus {
  readonly #backend: string;
  readonly #logger: Logger;
  readonly #onStatus: ((status: BusStatus) => void) | undefined;
  #lost = false;
  /** Connection losses so far: whether one happened while something was being tried. */
  #losses = 0;

  constructor(backend: string, logger: Logger, onStatus: ((status: BusStatus) => void) | undefined) {
    this.#backend = backend;
    this.#logger = logger;
    this.#onStatus = onStatus;
  }

  /** Whether the last connection event was a loss not yet followed by a recovery. */
  get lost(): boolean {
    return this.#lost;
  }

  /** Records, logs and forwards one status change. Never throws. */
  readonly report = (status: BusStatus): void => {
    if (status.connection === 'lost' && !this.#lost) {
      this.#lost = true;
      this.#losses++;
      log(
        this.#logger,
        'warn',
        `[omnibus:${this.#backend}] connection lost${status.detail ? `: ${status.detail}` : ''}; reconnecting`,
      );
    } else if (status.connection === 'restored' && this.#lost) {
      this.#lost = false;
      log(this.#logger, 'warn', `[omnibus:${this.#backend}] connection restored`);
    }
    try {
      this.#onStatus?.(status);
    } catch {
      // a throwing listener must not break the bus
    }
  };

  /**
   * Watches for an outage from now: the function returned says whether the
   * connection was lost at the start, was lost since, or `away()` (the backend's
   * probe) says it is unreachable now.
   */
  watchOutage(away: () => Promise<boolean>): () => Promise<boolean> {
    const lostAtStart = this.#lost;
    const lossesAtStart = this.#losses;
    return async () => lostAtStart || this.#losses !== lossesAtStart || (await away());
  }
}
