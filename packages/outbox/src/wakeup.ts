/**
 * The relay's sleep. `sleep(ms)` resolves after `ms`, or earlier at the next `wake()` (a NOTIFY, a
 * `drain()`) — unless it was asked with `{ wakeable: false }` (the back-off after a failure,
 * which a stream of notifications must not cut short). `interrupt()` ends any sleep (close). A
 * `wake()` with nobody asleep is remembered until `reset()`, so a notification that arrives
 * while a pass runs is not lost.
 */
export class Wakeup {
  private woken = false;
  private interrupted = false;
  private sleeper: { wakeable: boolean; done: () => void } | undefined;

  wake(): void {
    this.woken = true;
    if (this.sleeper?.wakeable) this.sleeper.done();
  }

  interrupt(): void {
    this.interrupted = true;
    this.sleeper?.done();
  }

  reset(): void {
    this.woken = false;
  }

  sleep(ms: number, options: { wakeable?: boolean } = {}): Promise<void> {
    const wakeable = options.wakeable ?? true;
    if (this.interrupted || (wakeable && this.woken)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.sleeper === sleeper) this.sleeper = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      const sleeper = { wakeable, done };
      this.sleeper = sleeper;
    });
  }
}
