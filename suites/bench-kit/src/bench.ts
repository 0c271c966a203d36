import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { defaultReportDir } from '@omnibus/conformance';
import { redact, withTimeout } from '@omnibus/core';

/** One benchmark scenario measured for Omnibus and for its peer (the raw client, or an in-process peer). */
export interface BenchRow {
  scenario: string;
  omnibus: number;
  peer: number;
  /** Which peer, where a scenario has several (the memory bench's in-process emitters). */
  peerName?: string;
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

/**
 * An at-most-once round: `listen(onMessage)` installs the receiver (and returns its stop), then
 * `n` sends, yielding to the event loop every 500 so deliveries come in while publishing; timed
 * from the first send until the `n`th delivery (a fast path drops nothing here: the receivers are
 * sized for it). Bounded by `limitMs`.
 */
export async function measureFastPath(
  n: number,
  listen: (onMessage: () => void) => Promise<() => Promise<unknown>>,
  send: () => unknown,
  limitMs = 60_000,
): Promise<number> {
  let seen = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const stop = await listen(() => {
    if (++seen === n) done();
  });
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    await send();
    if (i % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
  }
  await within(finished, `${n} at-most-once deliveries (${seen} so far)`, limitMs);
  const result = rate(n, performance.now() - t);
  await stop();
  return result;
}

/** How a benchmark run is sized: `--quick` or `BENCH_QUICK=1` for fewer rounds and smaller counts. */
export interface BenchSettings {
  /** A quick run (smoke test): fewer rounds, smaller counts. */
  quick: boolean;
  /** Measured rounds per side of each scenario (`BENCH_ROUNDS`, else 5, or 3 when quick). */
  rounds: number;
}

/** Reads {@link BenchSettings} from the command line and the environment. */
export function benchSettings(
  argv: readonly string[] = process.argv,
  env: NodeJS.ProcessEnv = process.env,
): BenchSettings {
  const quick = argv.includes('--quick') || env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const asked = Math.floor(Number(env.BENCH_ROUNDS));
  return { quick, rounds: asked > 0 ? asked : quick ? 3 : 5 };
}

/**
 * A message count: the environment variable `name` when set to a positive number,
 * else `quick` in a quick run, else `full`.
 */
export function benchCount(name: string, full: number, quick: number, settings = benchSettings()): number {
  const asked = Math.floor(Number(process.env[name]));
  return asked > 0 ? asked : settings.quick ? quick : full;
}

/** Median, spread and raw values of one side's rounds. */
export interface BenchStats {
  median: number;
  min: number;
  max: number;
  /** First and third quartiles (linear interpolation). */
  q1: number;
  q3: number;
  /** Every measured round, in the order run. */
  rounds: number[];
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (at - lo);
}

/** {@link BenchStats} of the rounds' values, figures rounded like the values (integers stay integers). */
export function benchStats(values: readonly number[]): BenchStats {
  const sorted = [...values].sort((a, b) => a - b);
  const integers = values.every((v) => Number.isInteger(v));
  const tidy = (v: number) => (integers ? Math.round(v) : +v.toPrecision(4));
  return {
    median: tidy(quantile(sorted, 0.5)),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    q1: tidy(quantile(sorted, 0.25)),
    q3: tidy(quantile(sorted, 0.75)),
    rounds: [...values],
  };
}

/** p50 and p99 (ms, rounded to `digits`) of one round's latency samples. */
export function latencyFigures(samples: readonly number[], digits = 4): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: +percentile(sorted, 50).toFixed(digits), p99: +percentile(sorted, 99).toFixed(digits) };
}

/** What one round measures: a figure, or several by name (`{ p50, p99 }` gives two rows). */
export type BenchMeasurement = number | Readonly<Record<string, number>>;

/**
 * One round of one side: does its own untimed set-up (fresh subjects, groups or
 * buses per round), times the work and returns the figure. `round` counts every
 * round run for the scenario, warm-up included, from 0: use it to keep names apart.
 */
export type BenchRound = (round: number) => Promise<BenchMeasurement>;

/** A scenario: Omnibus and its baseline(s) doing the same work, measured in alternating rounds. */
export interface BenchScenario {
  /** The row's label with its counts, e.g. `publish → 1 handler (100000)`. */
  name: string;
  /** `msg/s` (or another rate: higher is better) or `ms` (lower is better). */
  unit: string;
  omnibus: BenchRound;
  /** The baseline(s) by label: the raw client, or in-process peers. */
  peers: Readonly<Record<string, BenchRound>>;
}

/** One figure of one scenario: Omnibus and each peer, medians and spread, ratio of medians. */
export interface BenchMetric {
  scenario: string;
  unit: string;
  omnibus: BenchStats;
  peers: { name: string; stats: BenchStats; ratio: number }[];
}

/** The machine a benchmark ran on. */
export interface BenchMachine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
}

/** The machine this process runs on: CPU model, cores, RAM, Node version, OS. */
export function benchMachine(): BenchMachine {
  const cpu = cpus();
  return {
    cpu: (cpu[0]?.model ?? 'unknown').replace(/\s+/g, ' ').trim(),
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${platform()} ${release()} ${arch()}`,
  };
}

/** What `reports/bench-<name>.json` holds: one part (backend) of a benchmark run. */
export interface BenchReport {
  name: string;
  title: string;
  /** How the baseline is described: `raw client`, `in-process peers`. */
  peer: string;
  generatedAt: string;
  quick: boolean;
  rounds: number;
  warmup: number;
  durationMs: number;
  machine: BenchMachine;
  /** Broker version, URL and the like, as shown on the report. */
  environment: Record<string, string>;
  notes: string[];
  metrics: BenchMetric[];
  /** Medians, one row per scenario and peer (the figures of the single-shot reports). */
  rows: BenchRow[];
  /** Why the part did not run (its backend was unreachable). */
  skipped?: string;
}

/** Options of a {@link BenchPart}. */
export interface BenchPartOptions {
  /** Short name: the report is `reports/bench-<name>.json`. */
  name: string;
  title: string;
  /** How the baseline is described in headings: `raw client`, `in-process peers`. */
  peer: string;
  /** Unrecorded rounds per side before the measured ones (JIT warm-up; default 0). */
  warmup?: number;
  /** Time limit of one side's round (default 120 s). */
  roundLimitMs?: number;
  settings?: BenchSettings;
}

const isTTY = () => Boolean(process.stdout.isTTY);

/** The live progress line: redrawn in place on a TTY, else a plain line at most every ~10 s. */
class ProgressLine {
  readonly #started = performance.now();
  #text = '';
  #lastPlain = Number.NEGATIVE_INFINITY;
  readonly #timer: NodeJS.Timeout;

  constructor(readonly prefix: string) {
    this.#timer = setInterval(() => this.#draw(), isTTY() ? 1_000 : 10_000);
    this.#timer.unref();
  }

  update(text: string): void {
    this.#text = text;
    this.#draw();
  }

  #draw(): void {
    if (!this.#text) return;
    const s = Math.round((performance.now() - this.#started) / 1000);
    const line = `${this.prefix} ${this.#text} · ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
    if (isTTY()) {
      const width = (process.stdout.columns || 120) - 1;
      process.stdout.write(`\r${line.length > width ? `${line.slice(0, width - 1)}…` : line}\x1b[K`);
    } else if (performance.now() - this.#lastPlain >= 9_500) {
      this.#lastPlain = performance.now();
      console.log(line);
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    if (isTTY()) process.stdout.write('\r\x1b[K');
  }
}

function writeReport(report: BenchReport): string {
  const dir = defaultReportDir();
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${report.name}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

function metricName(scenario: string, metric: string): string {
  if (!metric) return scenario;
  const counts = / \([^)]*\)$/.exec(scenario);
  return counts ? `${scenario.slice(0, counts.index)} ${metric}${counts[0]}` : `${scenario} ${metric}`;
}

function formatMedian(stats: BenchStats, unit: string): string {
  const f = (v: number) =>
    unit === 'ms' ? String(+v.toPrecision(3)) : Math.round(v).toLocaleString('en-US');
  return `${f(stats.median)} (${f(stats.min)}–${f(stats.max)}) ${unit}`;
}

/**
 * Markdown table lines of reports' metrics: scenario, Omnibus median (min–max),
 * peer, peer median (min–max), ratio of medians. `backend` adds a first column.
 */
export function benchTable(reports: readonly BenchReport[], options: { backend?: boolean } = {}): string[] {
  const lead = options.backend ? '| backend ' : '';
  const lines = [
    `${lead}| scenario | omnibus, median (min–max) | peer | peer, median (min–max) | omnibus / peer |`,
    `${options.backend ? '| --- ' : ''}| --- | ---: | --- | ---: | ---: |`,
  ];
  for (const report of reports) {
    for (const m of report.metrics) {
      for (const p of m.peers) {
        lines.push(
          `${options.backend ? `| ${report.name} ` : ''}| ${m.scenario} | ${formatMedian(m.omnibus, m.unit)} | ${p.name} | ${formatMedian(p.stats, m.unit)} | ${p.ratio.toFixed(2)} |`,
        );
      }
    }
  }
  return lines;
}

/**
 * One part of `pnpm bench` (one backend): scenarios whose Omnibus side and
 * baseline(s) run in alternating rounds (Omnibus, peer, Omnibus, peer…), then a
 * table and `reports/bench-<name>.json` with every round, the medians, spread
 * and ratios. A backend that cannot be reached is a recorded skip
 * ({@link BenchPart.require}), never a crash.
 */
export class BenchPart {
  readonly settings: BenchSettings;
  /** Shown with the report: broker version, URL… (credentials are redacted). */
  readonly environment: Record<string, string> = {};
  /** Sentences printed under the part's table in the report. */
  readonly notes: string[] = [];
  readonly #options: BenchPartOptions;
  readonly #scenarios: BenchScenario[] = [];

  constructor(options: BenchPartOptions) {
    this.#options = options;
    this.settings = options.settings ?? benchSettings();
  }

  /** A message count for this run: see {@link benchCount}. */
  count(envName: string, full: number, quick: number): number {
    return benchCount(envName, full, quick, this.settings);
  }

  /**
   * `connect()`, bounded by `limitMs`; when it fails, prints one line
   * (`<name>: skipped — <what> is not reachable (<reason>)`), records the part as
   * skipped in its report and ends the process with exit code 0.
   */
  async require<T>(what: string, connect: () => Promise<T>, limitMs = 10_000): Promise<T> {
    try {
      return await withTimeout(connect(), limitMs, `no answer within ${limitMs} ms`);
    } catch (error) {
      const reason = redact(
        `${what} is not reachable (${error instanceof Error ? error.message : String(error)})`,
      );
      this.skip(reason.replace(/\s+/g, ' '));
    }
  }

  /** Records the part as skipped for `reason` (one line) and ends the process with exit code 0. */
  skip(reason: string): never {
    const { name, title, peer } = this.#options;
    console.log(`${name}: skipped — ${reason}`);
    writeReport({
      name,
      title: redact(title),
      peer,
      ...this.#base(0),
      metrics: [],
      rows: [],
      skipped: reason,
    });
    process.exit(0);
  }

  /**
   * Adds a scenario (run in the order added). With `BENCH_ONLY` set, only scenarios whose
   * name contains it (case-insensitive) are kept: one row at a time, for profiling.
   */
  add(scenario: BenchScenario): this {
    const only = process.env.BENCH_ONLY?.toLowerCase();
    if (only && !scenario.name.toLowerCase().includes(only)) return this;
    this.#scenarios.push(scenario);
    return this;
  }

  /** Runs every scenario, prints the table (unless `BENCH_PARENT` is set) and writes the report. */
  async run(): Promise<BenchReport> {
    const { name, title, peer } = this.#options;
    const { rounds } = this.settings;
    const warmup = this.#options.warmup ?? 0;
    const limit = this.#options.roundLimitMs ?? 120_000;
    const started = performance.now();
    const steps = this.#scenarios.reduce(
      (n, s) => n + (warmup + rounds) * (1 + Object.keys(s.peers).length),
      0,
    );
    const progress = new ProgressLine(`[${name}]`);
    const metrics: BenchMetric[] = [];
    let step = 0;
    try {
      for (const scenario of this.#scenarios) {
        const sides: [string, BenchRound][] = [
          ['omnibus', scenario.omnibus],
          ...Object.entries(scenario.peers),
        ];
        const results = new Map<string, BenchMeasurement[]>(sides.map(([label]) => [label, []]));
        for (let r = 0; r < warmup + rounds; r++) {
          for (const [label, round] of sides) {
            const which = r < warmup ? 'warm-up' : `round ${r - warmup + 1}/${rounds}`;
            progress.update(`${++step}/${steps} · ${scenario.name} · ${which} · ${label}`);
            const figure = await within(round(r), `${name}: ${scenario.name}, ${label}, ${which}`, limit);
            if (r >= warmup) results.get(label)?.push(figure);
          }
        }
        const first = results.get('omnibus')?.[0] ?? 0;
        const keys = typeof first === 'number' ? [''] : Object.keys(first);
        const pick = (label: string, key: string) =>
          (results.get(label) ?? []).map((m) => (typeof m === 'number' ? m : (m[key] ?? Number.NaN)));
        for (const key of keys) {
          const omnibus = benchStats(pick('omnibus', key));
          metrics.push({
            scenario: metricName(scenario.name, key),
            unit: scenario.unit,
            omnibus,
            peers: sides.slice(1).map(([label]) => {
              const stats = benchStats(pick(label, key));
              return { name: label, stats, ratio: +(omnibus.median / stats.median).toFixed(3) };
            }),
          });
        }
      }
    } finally {
      progress.stop();
    }
    const report: BenchReport = {
      name,
      title: redact(title),
      peer,
      ...this.#base(performance.now() - started),
      metrics,
      rows: metrics.flatMap((m) =>
        m.peers.map((p) => ({
          scenario: m.scenario,
          omnibus: m.omnibus.median,
          peer: p.stats.median,
          peerName: p.name,
          unit: m.unit,
        })),
      ),
    };
    const file = writeReport(report);
    if (!process.env.BENCH_PARENT) {
      console.log(`\n${report.title}${report.quick ? ' — quick run' : ''}\n`);
      console.log(benchTable([report]).join('\n'));
    }
    console.log(
      `${name}: ${metrics.length} figures in ${Math.round(report.durationMs / 1000)} s (${rounds} rounds per side${warmup ? ` after ${warmup} warm-up` : ''}) → ${file}`,
    );
    return report;
  }

  #base(durationMs: number) {
    const environment: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.environment)) environment[k] = redact(v);
    return {
      generatedAt: new Date().toISOString(),
      quick: this.settings.quick,
      rounds: this.settings.rounds,
      warmup: this.#options.warmup ?? 0,
      durationMs: Math.round(durationMs),
      machine: benchMachine(),
      environment,
      notes: [...this.notes],
    };
  }
}
