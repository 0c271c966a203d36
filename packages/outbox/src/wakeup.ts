/**
 * A sleep that can be cut short: `sleep(ms)` resolves after `ms` or at the next `wake()`,
 * whichever comes first. A `wake()` with nobody asleep is remembered until `reset()`, so a
 * notification that arrives while a pass runs is not lost.
 */
export class Wakeup {
  private woken = false;
  private resolve: (() => void) | undefined;

  wake(): void {
    this.woken = true;
    this.resolve?.();
  }

  reset(): void {
    this.woken = false;
  }

  sleep(ms: number): Promise<void> {
    if (this.woken) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.resolve = undefined;
        resolve();
      }
      this.resolve = done;
    });
  }
}
