import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Capabilities, CapabilityName, EventBus } from '@omnibus/core';
import { uniquePrefix } from '../reader.js';
import { reportStamp } from '../report.js';
import type { Expect, TestRunner } from '../runner.js';
import { ackTimeoutTests } from './ack-timeout.js';
import { ackTests, delayedNakTests, groupTests } from './acks.js';
import { limitTests, payloadTests, subjectTests } from './basics.js';
import { type ConformanceContext, createContext, type Register } from './context.js';
import { atMostOnceTests, deliveryLevelOptionTests } from './delivery-levels.js';
import { groupDurabilityTests } from './group-durability.js';
import { dedupeTests, replayTests } from './history.js';
import { leadingWildcardTests } from './leading-wildcards.js';
import { lifecycleTests } from './lifecycle.js';
import { managementTests } from './management.js';
import { observationTests } from './observation.js';
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
  /**
   * The capabilities the bus declares. Given, the suite registers its tests at once, without
   * creating a bus first — synchronously, for a runner whose test files cannot `await` at the top
   * level — and a first test checks that the bus declares exactly these. Default: read from a bus
   * made by `createBus` and closed again.
   */
  capabilities?: Capabilities;
  /** Upper bound of each positive wait (default 15,000 ms). */
  timeoutMs?: number;
  /** Window of "nothing else arrives" checks (default 250 ms). */
  quietMs?: number;
  /**
   * The directory to write `conformance-<name>.json` to, stamped with the git commit
   * ({@link reportStamp}); `false` or unset: no report, no git. `@omnibus/testing` sets it to the
   * workspace's `reports/` (`defaultReportDir()`).
   */
  reportDir?: string | false;
}

/** The JSON written to `reports/conformance-<backend>.json`. */
export interface ConformanceReport {
  backend: string;
  passed: number;
  failed: number;
  /** Groups not run because the backend declares the capability unsupported. */
  unsupported: { group: string; capability: CapabilityName | 'ordering' | 'management' | 'atMostOnce' }[];
  capabilities: Capabilities;
  /** Each group's outcome: every test passed, at least one failed, or not run because unsupported. */
  groups: Record<string, 'passed' | 'failed' | 'unsupported'>;
  failures: string[];
  /** The git commit the suite ran on (short sha), or `unknown` outside a git checkout. */
  commit?: string;
  /** When the report was written (ISO 8601). With `commit`, what tells a stale report from a fresh one. */
  generatedAt?: string;
}

interface GroupSpec {
  name: string;
  requires?: CapabilityName | 'ordering' | 'management' | 'atMostOnce';
  define: (test: Register, expect: Expect) => void;
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
  { name: 'observation', define: observationTests },
  { name: 'management', requires: 'management', define: managementTests },
  { name: 'delivery levels', define: deliveryLevelOptionTests },
  { name: 'at most once', requires: 'atMostOnce', define: atMostOnceTests },
];

function supports(capabilities: Capabilities, requirement: GroupSpec['requires']): boolean {
  if (requirement === undefined) return true;
  if (requirement === 'ordering') return capabilities.ordering === 'subject';
  if (requirement === 'management') return capabilities.management === true;
  if (requirement === 'atMostOnce') return capabilities.atMostOnce !== undefined;
  return capabilities[requirement] === true;
}

/**
 * Registers the whole Omnibus conformance suite for one adapter with `runner` — vitest's, jest's
 * or bun:test's functions, or any runner's that do the same (see {@link TestRunner}). Call it at
 * the top level of a test file with `await` (it creates one bus first, to read its capabilities),
 * or without when `capabilities` are given: it then registers every test before it returns.
 * Groups whose capability the backend declares unsupported are reported (in the titles and the
 * report), never silently skipped. With `reportDir`, the summary is written to
 * `<reportDir>/conformance-<name>.json` after the suite; without it nothing is written.
 *
 * @example
 * import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
 * await runConformanceSuite(
 *   { describe, it, beforeEach, afterEach, afterAll, expect },
 *   { name: 'memory', createBus: () => createMemoryBus({ history: true }) },
 * );
 */
export async function runConformanceSuite(
  runner: TestRunner,
  options: ConformanceOptions,
): Promise<ConformanceReport> {
  const { describe, it, beforeEach, afterEach, afterAll, expect } = runner;
  const capabilities = { ...(options.capabilities ?? (await probeCapabilities(options.createBus))) };
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
    const dir = options.reportDir;
    if (dir) afterAll(() => writeConformanceReport(dir, report));
    if (options.capabilities)
      it('the bus declares the capabilities given to the suite', () => {
        expect({ ...current?.ctx.bus.capabilities }).toEqual(capabilities);
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
        const register: Register = (name, body, testTimeout) => {
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
        };
        group.define(register, expect);
      });
    }
  });
  return report;
}

/** The capabilities of a bus made by `createBus`, closed again. */
async function probeCapabilities(createBus: ConformanceOptions['createBus']): Promise<Capabilities> {
  const probe = await createBus();
  const capabilities = { ...probe.capabilities };
  await probe.close();
  return capabilities;
}

/** Writes `report`, stamped with the commit and time, to `<dir>/conformance-<backend>.json`. */
function writeConformanceReport(dir: string, report: ConformanceReport): void {
  mkdirSync(dir, { recursive: true });
  Object.assign(report, reportStamp(dir));
  const { failures, ...summary } = report;
  writeFileSync(
    join(dir, `conformance-${report.backend}.json`),
    `${JSON.stringify({ ...summary, failures }, null, 2)}\n`,
  );
}
