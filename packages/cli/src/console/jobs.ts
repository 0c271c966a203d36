// Redrives and purges started from the page run here, not in the request: the page starts one,
// then reads its progress (the live progress bar) until it is done, and may stop it. Bounded: a
// few at once, the last few kept for their reports.
import { randomUUID } from 'node:crypto';
import type { DeadLetterProgress, DeadLetterReport, DeadLetterSelection, DeadLetters } from '@omnibus/core';
import { BusClosedError } from '@omnibus/core';
import { CommandError, errorLine } from '../errors.js';
import { deadLetterRow } from './views.js';

/**
 * One redrive or purge at a time: two over the same dead letters would republish each twice
 * (a dead letter is removed only after its batch), and a double click is the usual way to start two.
 */
const MAX_RUNNING = 1;
/** Finished jobs kept for the page to read. */
const MAX_KEPT = 20;

/** What the page asked for. */
export interface JobRequest {
  readonly kind: 'redrive' | 'purge';
  readonly selection: DeadLetterSelection;
  readonly dryRun: boolean;
  /** Redrive: republishes per second (0 unlimited). */
  readonly rate: number;
}

/** A job as the page reads it. */
export interface JobView {
  readonly id: string;
  readonly kind: JobRequest['kind'];
  readonly dryRun: boolean;
  readonly state: 'running' | 'done' | 'stopped' | 'failed';
  /** `counting` (a real run first counts its selection, for the progress bar), then `moving`. */
  readonly phase: 'counting' | 'moving';
  /** How many the selection held when counted (real runs), the progress bar's end. */
  readonly total?: number;
  readonly progress: DeadLetterProgress;
  readonly startedAt: number;
  readonly elapsedMs: number;
  /** What a dry run would move (at most 100), or what was moved. */
  readonly listed?: ReturnType<typeof deadLetterRow>[];
  readonly error?: string;
}

interface Job {
  view: JobView;
  readonly abort: AbortController;
  ended?: Promise<void>;
}

/** The console's redrives and purges. */
export class Jobs {
  readonly #jobs = new Map<string, Job>();
  readonly #deadLetters: () => DeadLetters;
  #closed = false;

  constructor(deadLetters: () => DeadLetters) {
    this.#deadLetters = deadLetters;
  }

  /** Starts a job; its first view. Throws CommandError when too many run already. */
  start(request: JobRequest): JobView {
    if (this.#closed) throw new BusClosedError({ hint: 'the console is closing' });
    const running = [...this.#jobs.values()].filter((j) => j.view.state === 'running').length;
    if (running >= MAX_RUNNING)
      throw new CommandError('a redrive or purge is running: wait for it to end or stop it');
    const id = randomUUID();
    const abort = new AbortController();
    const startedAt = Date.now();
    const job: Job = {
      abort,
      view: {
        id,
        kind: request.kind,
        dryRun: request.dryRun,
        state: 'running',
        phase: request.dryRun ? 'moving' : 'counting',
        progress: { selected: 0, done: 0, skipped: 0, pendingRemoval: 0 },
        startedAt,
        elapsedMs: 0,
      },
    };
    this.#jobs.set(id, job);
    this.#trim();
    const onProgress = (progress: DeadLetterProgress) => {
      job.view = { ...job.view, progress: { ...progress }, elapsedMs: Date.now() - startedAt };
    };
    const options = { signal: abort.signal, maxListed: 100 };
    const dl = this.#deadLetters();
    const move = (dryRun: boolean, more: object, selection = request.selection) =>
      request.kind === 'redrive'
        ? dl.redrive(selection, { ...options, ...more, dryRun, rate: request.rate })
        : dl.purge(selection, { ...options, ...more, dryRun });
    const work = (async (): Promise<DeadLetterReport> => {
      if (request.dryRun) return move(true, { onProgress });
      // counted first (what the CLI's progress bar does too), so the bar knows its end
      const counted = await move(true, { maxListed: 0, onProgress });
      if (counted.stopped) return counted;
      job.view = {
        ...job.view,
        phase: 'moving',
        total: counted.selected,
        progress: { selected: 0, done: 0, skipped: 0, pendingRemoval: 0 },
      };
      // exactly what was counted: the bar's end is the real one, and nothing dead-lettered since moves
      return move(false, { onProgress }, { ...request.selection, refs: counted.refs ?? [] });
    })();
    job.ended = work.then(
      (report) => {
        job.view = {
          ...job.view,
          state: report.stopped ? 'stopped' : 'done',
          progress: {
            selected: report.selected,
            done: report.done,
            skipped: report.skipped,
            pendingRemoval: report.pendingRemoval,
          },
          elapsedMs: report.elapsedMs,
          listed: report.listed.map(deadLetterRow),
        };
      },
      (error: unknown) => {
        job.view = {
          ...job.view,
          state: 'failed',
          error: errorLine(error),
          elapsedMs: Date.now() - startedAt,
        };
      },
    );
    return job.view;
  }

  /** A job's view, or undefined when unknown. */
  get(id: string): JobView | undefined {
    return this.#jobs.get(id)?.view;
  }

  /** Stops a running job between messages (nothing is lost: each is dead-lettered, republished or both). */
  stop(id: string): JobView | undefined {
    const job = this.#jobs.get(id);
    job?.abort.abort();
    return job?.view;
  }

  /** Refuses new jobs, stops every running one and waits for them to end (on close). */
  async stopAll(): Promise<void> {
    this.#closed = true;
    for (const job of this.#jobs.values()) job.abort.abort();
    await Promise.all([...this.#jobs.values()].map((j) => j.ended));
  }

  #trim(): void {
    const finished = [...this.#jobs.values()].filter((j) => j.view.state !== 'running');
    for (const job of finished.slice(0, Math.max(0, finished.length - MAX_KEPT)))
      this.#jobs.delete(job.view.id);
  }
}
