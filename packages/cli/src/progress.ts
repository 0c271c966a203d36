import cliProgress from 'cli-progress';
import type { Output } from './io.js';

/** A progress bar on stderr (cli-progress), with the rate and an ETA; only on a terminal. */
export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

const NONE: Progress = { update() {}, stop() {} };

/**
 * A bar for `total` items when stderr is a terminal and the run is long (at least `minItems`,
 * or at least two seconds at `rate`); otherwise one that shows nothing. Piped output never
 * gets a bar.
 */
export function progressBar(
  out: Output,
  label: string,
  total: number,
  options: { rate?: number; minItems?: number } = {},
): Progress {
  const rate = options.rate ?? 0;
  const long = total >= (options.minItems ?? 50) || (rate > 0 && total / rate >= 2);
  if (!out.interactiveErr || !long) return NONE;
  const started = Date.now();
  const bar = new cliProgress.SingleBar(
    {
      stream: out.io.stderr,
      format: `${label} {bar} {value}/{total} | {rate} msg/s | ETA {eta_formatted}`,
      barCompleteChar: '█',
      barIncompleteChar: '░',
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { rate: '0' });
  return {
    update(done, newTotal) {
      if (newTotal !== undefined && newTotal > bar.getTotal()) bar.setTotal(newTotal);
      const seconds = (Date.now() - started) / 1000;
      bar.update(done, { rate: seconds > 0 ? (done / seconds).toFixed(0) : '0' });
    },
    stop() {
      bar.stop();
    },
  };
}
