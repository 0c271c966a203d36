/** What `watchResponsiveness` needs: how to ask the backend, how often, and what to say. */
export interface ResponsivenessWatch {
  /**
   * One round trip to the backend (a PING, a metadata request). Resolve on any
   * answer — a refusal the server sent is an answer too — and reject only when
   * none came.
   */
  probe(): Promise<unknown>;
  /** False while the client is known to be reconnecting: no probe is sent then (default: always ready). */
  ready?(): boolean;
  /** How often a probe is sent (ms). */
  everyMs: number;
  /** How long without any answer before the backend counts as unresponsive (ms). */
  unresponsiveAfterMs: number;
  /**
   * Probes that may await their answer at once (default 1). More lets a cluster
   * client, which picks a broker per request, hear from the brokers that answer
   * while a request to a paused one waits for its own timeout.
   */
  maxOutstanding?: number;
  /** The backend stopped answering: nothing for `unresponsiveAfterMs`. Called once per such spell. */
  onUnresponsive(detail: string): void;
  /** The first answer after a spell reported by `onUnresponsive`. Called once per spell. */
  onResponsive(): void;
}

/** A running watch. */
export interface ResponsivenessWatcher {
  /** Stops the timer; nothing is reported after it. */
  stop(): void;
  /** Another sign of life from the backend (a reply to some other request): counts as an answer. */
  answered(): void;
}

/**
 * Probes a backend on a timer and says when it stops answering and when it
 * answers again. A broker that is paused or cut off by the network keeps its
 * TCP connections open, so a client notices nothing until its own request
 * timeout (30 s for kafkajs, never for an idle ioredis connection): a watch
 * notices in `unresponsiveAfterMs`. The backend counts as unresponsive only when
 * nothing at all has answered for that long — a single refused or slow probe is
 * not an outage — and the spell ends with the next answer. The timer never keeps
 * the process alive.
 */
export function watchResponsiveness(watch: ResponsivenessWatch): ResponsivenessWatcher {
  const maxOutstanding = watch.maxOutstanding ?? 1;
  let lastAnswerAt = Date.now();
  let outstanding = 0;
  let unresponsive = false;
  let stopped = false;
  let lastFailure: string | undefined;

  const answered = () => {
    lastAnswerAt = Date.now();
    lastFailure = undefined;
    if (unresponsive && !stopped) {
      unresponsive = false;
      watch.onResponsive();
    }
  };
  const send = () => {
    outstanding++;
    let probing: Promise<unknown>;
    try {
      probing = watch.probe();
    } catch (error) {
      probing = Promise.reject(error);
    }
    probing.then(
      () => {
        outstanding--;
        answered();
      },
      (error: unknown) => {
        outstanding--;
        lastFailure = (error as Error)?.message ?? String(error);
      },
    );
  };
  const timer = setInterval(() => {
    if (!unresponsive && Date.now() - lastAnswerAt >= watch.unresponsiveAfterMs) {
      unresponsive = true;
      watch.onUnresponsive(
        `no answer for ${watch.unresponsiveAfterMs} ms${lastFailure ? ` (last probe: ${lastFailure})` : ''}`,
      );
    }
    if (outstanding < maxOutstanding && (!watch.ready || watch.ready())) send();
  }, watch.everyMs);
  timer.unref?.();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
    answered,
  };
}
