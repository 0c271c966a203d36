import { type BusStatus, StatusRelay } from '@omnibus/core';

/**
 * Sends status changes to core (which logs connection loss and recovery and forwards them
 * to `onStatus`), and remembers what the driver needs to word them: whether a loss it
 * reported is not over yet, and the client's last error (the client's KafkaJS API has no
 * connection events: loss is read from librdkafka's error lines, recovery from the next
 * successful publish, delivered batch or group join). What is reported while connecting is held until the bus listens.
 */
export class StatusReporter {
  lost = false;
  /** The client's last error line (redacted): what a failed connect says. */
  lastError: string | undefined;
  readonly #relay = new StatusRelay();

  /** Installs the bus's listener (`setStatusListener`). */
  listen(listener: (status: BusStatus) => void): void {
    this.#relay.listen(listener);
  }

  readonly report = (status: BusStatus): void => {
    if (status.type === 'client_error') this.lastError = status.detail;
    if (status.connection === 'lost') {
      if (this.lost) status = { type: status.type, detail: status.detail };
      this.lost = true;
    } else if (status.connection === 'restored') {
      this.lost = false;
    }
    this.#relay.report(status);
  };
}
