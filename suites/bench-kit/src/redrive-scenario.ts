import { type BatchEntry, deadLetterHeaders, type EventBus, manage } from '@omnibus/core';
import { type BenchScenario, rate } from './bench.js';

/** Dead letters are stored (untimed) in batches of this many. */
const BATCH = 500;

/**
 * A redrive at `rate: 0` (unlimited) of `count` dead letters, against the floor it cannot beat:
 * publishing the same messages, awaited one by one, with the same bus. Each round stores its own
 * dead letters first (untimed: `publishBatch` to `dlq.<subject>` with the headers a dead-lettering
 * writes), on a subject of its own, and leaves nothing behind. Omnibus's figure is what
 * `manage(bus).deadLetters.redrive` moves per second: browse, republish awaited, remove.
 */
export function redriveScenario(bus: EventBus, count: number, payload: Uint8Array): BenchScenario {
  const subjectOf = (round: number) => `benchredrive.r${round}x${Date.now().toString(36)}`;
  return {
    name: `redrive of dead letters, rate unlimited (${count})`,
    unit: 'msg/s',
    omnibus: async (round) => {
      const subject = subjectOf(round);
      for (let i = 0; i < count; i += BATCH) {
        const entries: BatchEntry[] = [];
        for (let j = i; j < Math.min(count, i + BATCH); j++) {
          const id = `${subject}-${j}`;
          entries.push({
            subject: `dlq.${subject}`,
            payload,
            headers: deadLetterHeaders({
              headers: {},
              subject,
              id,
              attempt: 1,
              group: 'bench',
              reason: 'bench',
            }),
          });
        }
        await bus.publishBatch(entries);
      }
      const t = performance.now();
      const report = await manage(bus).deadLetters.redrive({ in: `dlq.${subject}` });
      const ms = performance.now() - t;
      if (report.done !== count) throw new Error(`redrive moved ${report.done} of ${count} dead letters`);
      return rate(count, ms);
    },
    peers: {
      'awaited publish (the floor)': async (round) => {
        const subject = `${subjectOf(round)}.floor`;
        const t = performance.now();
        for (let i = 0; i < count; i++)
          await bus.publish(subject, payload, { headers: { 'omnibus-redrive-count': '1' } });
        return rate(count, performance.now() - t);
      },
    },
  };
}
