import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Capabilities, CapabilityName, EventBus } from '@omnibus/core';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { uniquePrefix } from '../reader.js';
import { defaultReportDir } from '../report-dir.js';
import { ackTimeoutTests } from './ack-timeout.js';
import { ackTests, delayedNakTests, groupTests } from './acks.js';
import { limitTests, payloadTests, subjectTests } from './basics.js';
import { type ConformanceContext, createContext, type Register } from './context.js';
import { groupDurabilityTests } from './group-durability.js';
import { dedupeTests, replayTests } from './history.js';
import { leadingWildcardTests } from './leading-wildcards.js';
import { lifecycleTests } from './lifecycle.js';
import { releaseTests } from './release.js';
import { deliveryTests, routingTests } from './routing.js';
import { typedEventTests } from './typed.js';
import { unicodeSubjectTests } from './unicode.js';

/** Options of `runConformanceSuite`. */
export interface ConformanceOptions {
  /** Backend name used in test titles and the report file (`reports/conformance-<name>.json`). */
  name: string;
  /** Creates a fresh, connected bus; called before every test and closed after it. */
  createBus: () => EventBus | Promise<EventBus>;
  /** Upper bound of each positive wait (default 15,000 ms). */
  timeoutMs?: number;
  /** Window of "nothing else arrives" checks (default 250 ms). */
  quietMs?: number;
  /** Where to write the report; `false` to write none. Default: `<workspace root>/reports`, or `OMNIBUS_REPORT_DIR`. */
  reportDir?: string | false;
}

/** The JSON written to `reports/conformance-<backend>.json`. */
export interface ConformanceReport {
  backend: string;
  passed: number;
  failed: number;
  /** Groups not run because the backend declares the capability unsupported. */
  unsupported: { group: string; capability: CapabilityName | 'ordering' }[];
  capabilities: Capabilities;
  /** Each group's outcome: every test passed, at least one failed, or not run because unsupported. */
  groups: Record<string, 'passed' | 'failed' | 'unsupported'>;
  failures: string[];
  /** The git commit the suite ran on (short sha), or `unknown` outside a git checkout. */
  commit?: string;
  /** When the report was written (ISO 8601). With `commit`, what tells a stale report from a fresh one. */
  generatedAt?: string;
}

/**
 * What a report is stamped with: the short sha of the git `HEAD` seen from `cwd` (`unknown` when
 * git or the checkout is unavailable) and the time. `scripts/render-capabilities.mjs` marks a
 * report stale when its commit is not the current `HEAD` or it predates the current test run.
 */
export function reportStamp(cwd: string, now: Date = new Date()): { commit: string; generatedAt: string } {
  let commit = 'unknown';
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    }).trim();
    if (/^[0-9a-f]{4,40}$/.test(sha)) commit = sha;
  } catch {
    // no git, or not a checkout: the report says so
  }
  return { commit, generatedAt: now.toISOString() };
}

interface GroupSpec {
  name: string;
  requires?: CapabilityName | 'ordering';
  define: (test: Register) => void;
}

/** The groups of the suite, in order. A group with `requires` runs only where that capability is declared. */
export const conformanceGroups: readonly GroupSpec[] = [
  { name: 'subjects', define: subjectTests },
  { name: 'payload and headers', define: payloadTests },
  { name: 'fan-out and wildcards', define: routingTests },
  { name: 'non-ASCII subjects', define: unicodeSubjectTests },
  { name: 'leading wildcards', define: leadingWildcardTests },
  { name: 'ordering, isolation and concurrency', requires: 'ordering', define: deliveryTests },
  { name: 'acks, retries and dead-letter', define: ackTests },
  { name: 'ack timeout', define: ackTimeoutTests },
  { name: 'delayed nak and backoff', requires: 'delayedNak', define: delayedNakTests },
  { name: 'consumer groups', requires: 'groups', define: groupTests },
  { name: 'release on close', requires: 'groups', define: releaseTests },
  { name: 'group durability', requires: 'groups', define: groupDurabilityTests },
  { name: 'dedupe', requires: 'dedupe', define: dedupeTests },
  { name: 'replay', requires: 'replay', define: replayTests },
  { name: 'limits and closed bus', define: limitTests },
  { name: 'lifecycle and stats', define: lifecycleTests },
  { name: 'typed events', define: typedEventTests },
];

function supports(capabilities: Capabilities, requirement: GroupSpec['requires']): boolean {
  if (requirement === undefined) return true;
  if (requirement === 'ordering') return capabilities.ordering === 'subject';
  return capabilities[requirement] === true;
}

/**
 * Registers the whole Omnibus conformance suite (vitest) for one adapter. Call it
 * at the top level of a test file with `await`. Groups whose capability the
 * backend declares unsupported are reported (in the titles and the JSON report),
 * never silently skipped.
 *
 * @example
 * await runConformanceSuite({ name: 'memory', createBus: () => createMemoryBus({ history: true }) });
 */
export async function runConformanceSuite(options: ConformanceOptions): Promise<ConformanceReport> {
  const probe = await options.createBus();
  const capabilities = { ...probe.capabilities };
  await probe.close();
  const timeoutMs = options.timeoutMs ?? 15_000;
  const quietMs = options.quietMs ?? 250;
  const report: ConformanceReport = {
    backend: options.name,
    passed: 0,
    failed: 0,
    unsupported: [],
    capabilities,
    groups: {},
    failures: [],
  };

  let current: { ctx: ConformanceContext; dispose(): Promise<void> } | undefined;

  describe(`conformance: ${options.name}`, () => {
    beforeEach(async () => {
      current = createContext(await options.createBus(), uniquePrefix(), timeoutMs, quietMs);
    });
    afterEach(async () => {
      await current?.dispose();
      await current?.ctx.bus.close({ timeoutMs: 2_000 });
      current = undefined;
    });
    afterAll(() => {
      if (options.reportDir === false) return;
      const dir = options.reportDir ?? defaultReportDir();
      mkdirSync(dir, { recursive: true });
      Object.assign(report, reportStamp(dir));
      const { failures, ...summary } = report;
      writeFileSync(
        join(dir, `conformance-${options.name}.json`),
        `${JSON.stringify({ ...summary, failures }, null, 2)}\n`,
      );
    });

    for (const group of conformanceGroups) {
      describe(group.name, () => {
        if (!supports(capabilities, group.requires)) {
          report.unsupported.push({ group: group.name, capability: group.requires as CapabilityName });
          report.groups[group.name] = 'unsupported';
          it(`unsupported: ${options.name} declares capabilities.${group.requires} unsupported`, () => {
            expect(supports(capabilities, group.requires)).toBe(false);
          });
          return;
        }
        report.groups[group.name] = 'passed';
        group.define((name, body, testTimeout) => {
          it(
            name,
            async () => {
              if (!current) throw new Error('conformance context missing');
              try {
                await body(current.ctx);
                report.passed++;
              } catch (error) {
                report.failed++;
                report.groups[group.name] = 'failed';
                report.failures.push(`${group.name} › ${name}: ${(error as Error).message ?? String(error)}`);
                throw error;
              }
            },
            testTimeout ?? timeoutMs * 2,
          );
        });
      });
    }
  });
  return report;
}
