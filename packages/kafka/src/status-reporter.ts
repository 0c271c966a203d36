import type { BusStatus } from '@omnibus/core';

/**
 * Sends status changes to `onStatus` and to core's listener, and remembers
 * whether the connection is lost (kafkajs has no connection events of its own:
 * loss is read from its error log, recovery from the next successful publish or
 * group join).
 */
export class StatusReporter {
  listener: ((status: BusStatus) => void) | undefined;
  lost = false;
  /** The client's last error line (redacted): what a failed connect says. */
  lastError: string | undefined;
  readonly #onStatus: ((status: BusStatus) => void) | undefined;

  constructor(onStatus: ((status: BusStatus) => void) | undefined) {
    this.#onStatus = onStatus;
  }

  readonly report = (status: BusStatus): void => {
    if (status.type === 'client_error') this.lastError = status.detail;
    if (status.connection === 'lost') {
      if (this.lost) status = { type: status.type, detail: status.detail };
      this.lost = true;
    } else if (status.connection === 'restored') {
      this.lost = false;
    }
    try {
      this.#onStatus?.(status);
    } catch {
      // ignore listener errors
    }
    this.listener?.(status);
  };
}
