import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { uniquePrefix } from '../reader.js';
import { type Command, historyArbitrary } from './commands.js';
import { judge } from './oracle.js';
import { type HistoryTiming, type ModelBackend, runHistoryWithin } from './run-history.js';

/** Options of `checkContractModel`. */
export interface ModelTestOptions extends ModelBackend {
  /** Random histories to run (default: `OMNIBUS_MODEL_RUNS`, else 20). */
  runs?: number;
  /**
   * Seed: `OMNIBUS_MODEL_SEED` when set, else this, else random. Printed on failure. A test run in
   * CI fixes it (the same histories every run); `pnpm test:model --runs N` draws a new one.
   */
  seed?: number;
  /** Replay path of a failure, with its seed (default: `OMNIBUS_MODEL_PATH`). */
  path?: string;
  /**
   * Histories run at once (default: `OMNIBUS_MODEL_CONCURRENCY`, else 1). Runner `i` draws its
   * own histories from `seed + i`, and a failure names that runner's seed, so its replay command
   * runs alone. A soak on a broker mostly waits on timers: 4–8 runners make it several times faster.
   */
  concurrency?: number;
  /** Most commands per history (default 10). */
  maxCommands?: number;
  /** Stop starting new histories (and shrinking) after this long (default: `OMNIBUS_MODEL_TIME_LIMIT_MS`, else none); the report then says `interrupted`. */
  timeLimitMs?: number;
  /** Ack timeout and waits of each history (defaults: 1,000 ms ack timeout, 20 s settle wait, 300 ms quiet). */
  timing?: Partial<HistoryTiming>;
  /**
   * The directory the report is merged into (`model.json`, or the file named by
   * `OMNIBUS_MODEL_REPORT_FILE`, keyed by backend); `false` or unset: none. `@omnibus/testing`
   * sets it to the workspace's `reports/` (`defaultReportDir()`).
   */
  reportDir?: string | false;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** What `checkContractModel` measured; also written to `reports/model.json` under the backend's name. */
export interface ModelReport {
  backend: string;
  passed: boolean;
  runs: number;
  commands: number;
  seed: number;
  /** Runners at once, when more than one (runner `i` used `seed + i`). */
  concurrency?: number;
  durationMs: number;
  interrupted: boolean;
  /** On failure: the shrunk history and what it broke. */
  failure?: { commands: Command[]; violations: string[]; path: string; replay: string; shrinks: number };
  generatedAt: string;
}

/** A history broke the contract; the message holds the seed, the shrunk commands and the command that replays it. */
export class ContractModelError extends Error {
  readonly report: ModelReport;
  constructor(report: ModelReport) {
    const f = report.failure;
    super(
      `[omnibus:${report.backend}] the contract model failed after ${report.runs} histories (seed ${report.seed}):\n` +
        `${f?.violations.map((v) => `  - ${v}`).join('\n')}\n` +
        `shrunk history (${f?.shrinks} shrinks):\n${f?.commands.map((c) => `  ${JSON.stringify(c)}`).join('\n')}\n` +
        `replay: ${f?.replay}`,
    );
    this.name = 'ContractModelError';
    this.report = report;
  }
}

/**
 * How long one history may run before it counts as stuck: its settle wait, plus a minute for
 * everything else (each command, and closing with bounded timeouts, takes seconds at most).
 */
const historyLimitMs = (timing: HistoryTiming) => timing.settleWaitMs + 60_000;

const envNumber = (name: string): number | undefined => {
  const raw = process.env[name];
  return raw === undefined || raw === '' ? undefined : Number(raw);
};

/**
 * Model-based test of the delivery contract: random histories of publishes (old, new and
 * reused-id subjects), subscriptions and consumers (patterns, groups, ack modes,
 * `maxInFlight`), handler outcomes (ack, throw, nak with delay, term, slow, hang past the ack
 * timeout), member restarts on another bus and bus closes — each judged by the oracle: every
 * message published while a subscription or group was live is handled or dead-lettered; attempts
 * count hand-outs (1, 2, 3…, nothing dead-lettered for an attempt no handler saw); per-subject
 * order for one consumer; dedupe where declared; `stats()` balanced; `close` bounded. Runner-agnostic:
 * call it from any test; it throws `ContractModelError` (seed, shrunk history, replay command) on
 * the first breach.
 *
 * @example
 * await checkContractModel({ name: 'memory', createBus: () => createMemoryBus(), sharedState: false, runs: 50 });
 */
export async function checkContractModel(options: ModelTestOptions): Promise<ModelReport> {
  const runs = options.runs ?? envNumber('OMNIBUS_MODEL_RUNS') ?? 20;
  // the environment wins, so that a printed replay command works whatever seed the test file fixes
  const seed = envNumber('OMNIBUS_MODEL_SEED') ?? options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const path = options.path ?? process.env.OMNIBUS_MODEL_PATH ?? undefined;
  const timing: HistoryTiming = {
    ackTimeoutMs: 1_000,
    settleWaitMs: 20_000,
    quietMs: 300,
    ...options.timing,
  };
  const concurrency = path
    ? 1
    : Math.max(1, Math.floor(options.concurrency ?? envNumber('OMNIBUS_MODEL_CONCURRENCY') ?? 1));
  const timeLimitMs = options.timeLimitMs ?? envNumber('OMNIBUS_MODEL_TIME_LIMIT_MS');
  let commands = 0;
  let executed = 0;
  /** The first runner that found a breach: the others stop drawing histories, it shrinks alone. */
  let failedRunner: number | undefined;
  let runsBeforeFailure = 0;
  const violationsOf = new Map<number, string[]>();
  const started = performance.now();
  const runner = async (index: number) => {
    const runnerSeed = index === 0 ? seed : (seed + index) % 2 ** 31;
    const property = fc.asyncProperty(historyArbitrary(options.maxCommands ?? 10), async (history) => {
      if (failedRunner !== undefined && failedRunner !== index) return; // another runner failed
      executed++;
      commands += history.commands.length;
      if (executed % 500 === 0)
        options.log?.(
          `[omnibus:model] ${options.name}: ${executed} histories run, ${((performance.now() - started) / 1000).toFixed(0)} s`,
        );
      const obs = await runHistoryWithin(historyLimitMs(timing), options, history, uniquePrefix(), timing);
      const violations = 'stuck' in obs ? [obs.stuck] : judge(obs);
      if (violations.length > 0) {
        if (failedRunner === undefined) {
          failedRunner = index;
          runsBeforeFailure = executed;
        }
        violationsOf.set(index, violations);
        throw new Error(violations.join('\n'));
      }
    });
    const details = await fc.check(property, {
      numRuns: Math.floor(runs / concurrency) + (index < runs % concurrency ? 1 : 0),
      seed: runnerSeed,
      path,
      endOnFailure: path !== undefined,
      plugins: timeLimitMs ? [fc.interruptAfterTimeLimit(timeLimitMs)] : [],
    } as Parameters<typeof fc.check>[1]);
    return { details, seed: runnerSeed };
  };
  const results = await Promise.all(Array.from({ length: concurrency }, (_, i) => runner(i)));
  const failing = failedRunner === undefined ? undefined : results[failedRunner];
  const report: ModelReport = {
    backend: options.name,
    passed: failing === undefined,
    runs: failing
      ? concurrency === 1
        ? failing.details.numRuns
        : runsBeforeFailure
      : results.reduce((n, r) => n + r.details.numRuns, 0),
    commands,
    seed,
    ...(concurrency > 1 ? { concurrency } : {}),
    durationMs: Math.round(performance.now() - started),
    interrupted: results.some((r) => r.details.interrupted),
    generatedAt: new Date().toISOString(),
  };
  if (failing) {
    const { details } = failing;
    const example = details.counterexample as unknown as [{ commands: Command[] }] | null;
    const shrunk = example?.[0]?.commands ?? [];
    const replayPath = details.counterexamplePath ?? '';
    const violations = violationsOf.get(failedRunner as number) ?? [];
    report.failure = {
      commands: shrunk,
      violations:
        violations.length > 0 ? violations : [String((details.errorInstance as Error)?.message ?? 'unknown')],
      path: replayPath,
      shrinks: details.numShrinks,
      replay: `OMNIBUS_MODEL_SEED=${failing.seed} OMNIBUS_MODEL_PATH=${replayPath} npx pnpm test:model --backend ${options.name}`,
    };
  }
  options.log?.(
    `[omnibus:model] ${options.name}: ${report.passed ? 'passed' : 'FAILED'} — ${report.runs} histories, ${commands} commands (${executed} executed with shrinking), seed ${seed}, ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  if (options.reportDir)
    writeModelReport(options.reportDir, process.env.OMNIBUS_MODEL_REPORT_FILE || 'model.json', report);
  if (!report.passed) throw new ContractModelError(report);
  return report;
}

/** Merges one backend's report into `<dir>/<name>` (keyed by backend): `model.json`, or `model-soak.json` for `pnpm test:model --runs N`. */
function writeModelReport(dir: string, name: string, report: ModelReport): void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  let all: Record<string, ModelReport> = {};
  try {
    all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, ModelReport>;
  } catch {
    // first report
  }
  all[report.backend] = report;
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
}

/**
 * Runs one recorded history — the shrunk `commands` a failure printed (`reports/model*.json` keeps
 * them too) — and throws `ContractModelError` if it breaks the contract. Adapters keep the
 * histories that once failed as regression tests: unlike a seed and path, a command list replays
 * the same history whatever the generator becomes.
 *
 * @example
 * await checkContractHistory({ name: 'kafka', createBus, sharedState: true }, [
 *   { t: 'subscribe', slot: 0, pattern: 0, group: 0, form: 'consume', ack: 'auto', maxInFlight: 1, outcomes: [{ kind: 'ack' }], otherBus: false },
 *   { t: 'publish', subject: 0, reuseId: false },
 * ]);
 */
export async function checkContractHistory(
  backend: ModelBackend,
  commands: Command[],
  timing: Partial<HistoryTiming> = {},
): Promise<void> {
  const full: HistoryTiming = { ackTimeoutMs: 1_000, settleWaitMs: 20_000, quietMs: 300, ...timing };
  const started = performance.now();
  const obs = await runHistoryWithin(historyLimitMs(full), backend, { commands }, uniquePrefix(), full);
  const violations = 'stuck' in obs ? [obs.stuck] : judge(obs);
  if (violations.length === 0) return;
  throw new ContractModelError({
    backend: backend.name,
    passed: false,
    runs: 1,
    commands: commands.length,
    seed: 0,
    durationMs: Math.round(performance.now() - started),
    interrupted: false,
    failure: {
      commands,
      violations,
      path: '',
      replay: 'the recorded history (checkContractHistory)',
      shrinks: 0,
    },
    generatedAt: new Date().toISOString(),
  });
}
