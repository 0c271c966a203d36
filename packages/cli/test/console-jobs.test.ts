// The console's job table on a dead-letter API that holds each redrive until it is stopped: one
// runs at a time (a second is refused with a clear line: two over the same dead letters would
// republish them twice), a real run counts its selection first, a stop ends one between messages
// (state `stopped`), and closing stops the running one, waits for it and refuses new ones.
import type { DeadLetterReport, DeadLetters, RedriveOptions } from '@omnibus/core';
import { expect, it } from 'vitest';
import { Jobs } from '../src/console/jobs.js';
import { CommandError } from '../src/errors.js';

function heldDeadLetters() {
  const api = {
    running: 0,
    dryRuns: 0,
    realRuns: 0,
    countWithoutHolding: false,
    async redrive(_selection: unknown, options: RedriveOptions = {}): Promise<DeadLetterReport> {
      const dryRun = options.dryRun === true;
      if (dryRun) api.dryRuns++;
      else api.realRuns++;
      const report = {
        selected: 7,
        done: dryRun ? 0 : 1,
        skipped: 0,
        pendingRemoval: 0,
        dryRun,
        listed: [],
        skippedListed: [],
        elapsedMs: 5,
      };
      if (dryRun && api.countWithoutHolding) return { ...report, stopped: false };
      api.running++;
      options.onProgress?.({ selected: 1, done: dryRun ? 0 : 1, skipped: 0, pendingRemoval: 0 });
      await new Promise<void>((resolve) =>
        options.signal?.addEventListener('abort', () => resolve(), { once: true }),
      );
      api.running--;
      return { ...report, stopped: true };
    },
    purge: async (): Promise<DeadLetterReport> => {
      throw new Error('not used');
    },
    list: async () => ({ items: [] }),
    show: async () => undefined,
  };
  return api as typeof api & DeadLetters;
}

it('runs one job at a time, counts first, stops on request and on close', async () => {
  const dl = heldDeadLetters();
  const jobs = new Jobs(() => dl);
  const request = { kind: 'redrive' as const, selection: {}, dryRun: false, rate: 1 };
  const a = jobs.start(request);
  expect(a.phase).toBe('counting');
  expect(() => jobs.start(request)).toThrow(CommandError);
  expect(() => jobs.start(request)).toThrow('a redrive or purge is running: wait for it to end or stop it');
  // the count (a dry run) is held too: stopping it ends the job before anything moves
  expect(dl.dryRuns).toBe(1);
  jobs.stop(a.id);
  await expect.poll(() => jobs.get(a.id)?.state).toBe('stopped');
  expect(dl.realRuns).toBe(0);
  expect(dl.running).toBe(0);

  dl.countWithoutHolding = true;
  const b = jobs.start(request);
  await expect.poll(() => jobs.get(b.id)?.phase).toBe('moving');
  expect(jobs.get(b.id)?.total).toBe(7);
  expect(dl.realRuns).toBe(1);
  await jobs.stopAll();
  expect(dl.running).toBe(0);
  expect(jobs.get(b.id)?.state).toBe('stopped');
  expect(() => jobs.start(request)).toThrow(/closed/);
  expect(jobs.get('no-such-job')).toBeUndefined();
});
