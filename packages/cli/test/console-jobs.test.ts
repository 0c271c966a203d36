// The console's job table on a dead-letter API that holds each redrive until it is stopped: at
// most two run at once, a third is refused with a clear line, a stop ends one between messages
// (state `stopped`), and closing stops every running one and waits for it.
import type { DeadLetterReport, DeadLetters, RedriveOptions } from '@omnibus/core';
import { expect, it } from 'vitest';
import { Jobs } from '../src/console/jobs.js';
import { CommandError } from '../src/errors.js';

function heldDeadLetters(): DeadLetters & { running: number } {
  const api = {
    running: 0,
    async redrive(_selection: unknown, options: RedriveOptions = {}): Promise<DeadLetterReport> {
      api.running++;
      options.onProgress?.({ selected: 1, done: 1, pendingRemoval: 0 });
      await new Promise<void>((resolve) =>
        options.signal?.addEventListener('abort', () => resolve(), { once: true }),
      );
      api.running--;
      return {
        selected: 1,
        done: 1,
        pendingRemoval: 0,
        dryRun: false,
        stopped: true,
        listed: [],
        elapsedMs: 5,
      };
    },
    purge: async () => {
      throw new Error('not used');
    },
    list: async () => ({ items: [] }),
    show: async () => undefined,
  };
  return api;
}

it('runs two jobs at most, stops one on request and the rest on close', async () => {
  const dl = heldDeadLetters();
  const jobs = new Jobs(() => dl);
  const request = { kind: 'redrive' as const, selection: {}, dryRun: false, rate: 1 };
  const a = jobs.start(request);
  const b = jobs.start(request);
  expect(() => jobs.start(request)).toThrow(CommandError);
  expect(() => jobs.start(request)).toThrow(
    '2 redrives or purges are running: wait for one to end or stop it',
  );
  expect(jobs.get(a.id)?.progress).toEqual({ selected: 1, done: 1, pendingRemoval: 0 });
  jobs.stop(a.id);
  await expect.poll(() => jobs.get(a.id)?.state).toBe('stopped');
  expect(dl.running).toBe(1);
  const c = jobs.start(request);
  await jobs.stopAll();
  expect(dl.running).toBe(0);
  expect([jobs.get(b.id)?.state, jobs.get(c.id)?.state]).toEqual(['stopped', 'stopped']);
  expect(jobs.get('no-such-job')).toBeUndefined();
});
