import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { redact, withTimeout } from '@omnibus/core';
import { defaultReportDir } from './report-dir.js';

/** One benchmark scenario measured for Omnibus and for its peer (the raw client, or an in-process peer). */
export interface BenchRow {
  scenario: string;
  omnibus: number;
  peer: number;
  unit: string;
}

/** The `p`th percentile of ascending `sorted` samples. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** p50 and p99 rows from two sets of latency samples (ms). */
export function latencyRows(label: string, omnibus: number[], peer: number[], digits = 3): BenchRow[] {
  const a = [...omnibus].sort((x, y) => x - y);
  const b = [...peer].sort((x, y) => x - y);
  return [50, 99].map((p) => ({
    scenario: `${label} p${p} (${a.length})`,
    omnibus: +percentile(a, p).toFixed(digits),
    peer: +percentile(b, p).toFixed(digits),
    unit: 'ms',
  }));
}

/**
 * Prints the rows as a markdown table (Omnibus, peer, ratio) and writes
 * `reports/bench-<name>.json`. Strings pass through `redact()`.
 */
export function reportBenchmark(options: {
  name: string;
  title: string;
  peer: string;
  rows: readonly BenchRow[];
}): void {
  const { name, title, peer, rows } = options;
  console.log(`\n${redact(title)}\n`);
  console.log(`| scenario | omnibus | ${peer} | omnibus / ${peer} |`);
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.scenario} | ${r.omnibus} ${r.unit} | ${r.peer} ${r.unit} | ${(r.omnibus / r.peer).toFixed(2)} |`,
    );
  }
  const dir = defaultReportDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `bench-${name}.json`),
    `${JSON.stringify({ name, title: redact(title), peer, rows }, null, 2)}\n`,
  );
}

/** Messages per second. */
export function rate(n: number, ms: number): number {
  return Math.round((n / ms) * 1000);
}

/** `promise`, or a rejection naming `what` after `limitMs`: every benchmark phase is bounded in time. */
export function within<T>(promise: Promise<T>, what: string, limitMs = 60_000): Promise<T> {
  return withTimeout(promise, limitMs, `${what} exceeded ${limitMs} ms`);
}

/**
 * Publish → deliver latency, one message at a time: `subscribe` installs a
 * receiver that reports each message's send time and returns its stop function;
 * `publish` sends one message carrying `sentAt`. Returns `n` samples (ms).
 */
export async function measureLatencies(
  n: number,
  subscribe: (onMessage: (sentAt: number) => void) => Promise<() => Promise<void>>,
  publish: (sentAt: number) => Promise<unknown>,
): Promise<number[]> {
  const samples: number[] = [];
  let next!: () => void;
  const stop = await subscribe((sentAt) => {
    samples.push(performance.now() - sentAt);
    next();
  });
  for (let i = 0; i < n; i++) {
    const arrived = new Promise<void>((r) => {
      next = r;
    });
    await publish(performance.now());
    await within(arrived, 'latency sample');
  }
  await stop();
  return samples;
}

/**
 * Receive rate (messages per second) of a consumer taking `n` messages from a
 * backlog, timed from before it starts: `start(onMessage)` installs the consumer
 * and returns its stop function, which runs after the count is reached.
 */
export async function measureConsumeRate(
  n: number,
  start: (onMessage: () => void) => Promise<() => Promise<unknown>>,
  what: string,
  limitMs = 120_000,
): Promise<number> {
  let seen = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const t = performance.now();
  const stop = await start(() => {
    if (++seen === n) done();
  });
  await within(finished, what, limitMs);
  const result = rate(n, performance.now() - t);
  await stop();
  return result;
}
