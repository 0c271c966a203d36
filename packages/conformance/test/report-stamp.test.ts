// Conformance reports carry the commit and time they were measured at, and the capability table
// marks a report stale when it was not measured on the current HEAD or in the current test run.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { reportStamp } from '../src/index.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const renderer = join(packageDir, '..', '..', 'scripts', 'render-capabilities.mjs');

describe('reportStamp', () => {
  it('is the short sha of HEAD and the ISO time', () => {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: packageDir,
      encoding: 'utf8',
    }).trim();
    const now = new Date('2025-01-02T03:04:05.000Z');
    expect(reportStamp(packageDir, now)).toEqual({ commit: head, generatedAt: '2025-01-02T03:04:05.000Z' });
  });

  it('says unknown outside a git checkout', () => {
    const outside = mkdtempSync(join(tmpdir(), 'omnibus-nogit-'));
    expect(reportStamp(outside).commit).toBe('unknown');
    expect(Date.parse(reportStamp(outside).generatedAt)).not.toBeNaN();
  });
});

describe('scripts/render-capabilities.mjs', () => {
  const workspace = () => {
    const root = mkdtempSync(join(tmpdir(), 'omnibus-capabilities-'));
    mkdirSync(join(root, 'docs'));
    mkdirSync(join(root, 'reports'));
    for (const name of ['memory', 'nats', 'redis']) {
      mkdirSync(join(root, 'packages', name), { recursive: true });
      writeFileSync(join(root, 'packages', name, 'package.json'), '{}');
    }
    writeFileSync(join(root, 'README.md'), '# x\n\n<!-- backends:start -->\n<!-- backends:end -->\n');
    return root;
  };
  const report = (root: string, backend: string, stamp: { commit?: string; generatedAt?: string }) =>
    writeFileSync(
      join(root, 'reports', `conformance-${backend}.json`),
      JSON.stringify({
        backend,
        passed: 41,
        failed: 0,
        unsupported: [],
        capabilities: { durable: backend !== 'memory' },
        groups: { subjects: 'passed' },
        failures: [],
        ...stamp,
      }),
    );
  const run = (root: string, ...args: string[]) => {
    const child = spawnSync(process.execPath, [renderer, '--root', root, '--head', 'abc1234', ...args], {
      encoding: 'utf8',
    });
    expect(child.status, child.stderr).toBe(0);
  };
  const render = (root: string) => {
    run(root);
    return {
      docs: readFileSync(join(root, 'docs', 'capabilities.md'), 'utf8'),
      readme: readFileSync(join(root, 'README.md'), 'utf8'),
    };
  };
  const row = (text: string, start: string) => text.split('\n').find((l) => l.startsWith(start)) ?? '';

  it('marks reports of another commit, unstamped or older than the current run as stale', () => {
    const root = workspace();
    run(root, '--start-run'); // what `pnpm test` does first
    const { startedAt } = JSON.parse(readFileSync(join(root, '.omnibus-cache', 'test-run.json'), 'utf8'));
    const later = new Date(Date.parse(startedAt) + 1_000).toISOString();
    const earlier = new Date(Date.parse(startedAt) - 60_000).toISOString();
    report(root, 'memory', { commit: 'abc1234', generatedAt: later }); // this run, this commit
    report(root, 'nats', { commit: 'abc1234', generatedAt: earlier }); // this commit, but this run skipped it
    report(root, 'redis', { commit: 'fff0000', generatedAt: later }); // another commit
    report(root, 'kafka', {}); // written before reports were stamped
    const { docs, readme } = render(root);

    expect(docs).toContain('marked **⚠️ stale** when its commit is not the current `HEAD`');
    // the existing columns and rows are still there, one column per backend
    expect(row(docs, '| |')).toBe('| | **memory** | **nats** | **redis** | **kafka** |');
    expect(row(docs, '| tests passed / failed')).toBe(
      '| tests passed / failed | 41 / 0 | 41 / 0 | 41 / 0 | 41 / 0 |',
    );
    const cells = row(docs, '| report |').split(' | ').slice(1);
    expect(cells[0]).toBe(`abc1234 · ${later.slice(0, 16).replace('T', ' ')} UTC`);
    expect(cells[1]).toMatch(/^abc1234 · .* — ⚠️ stale: older than the current test run/);
    expect(cells[2]).toMatch(/— ⚠️ stale: measured at fff0000, HEAD is abc1234/);
    expect(cells[3]).toMatch(/^⚠️ stale: no commit\/time stamp/);

    expect(row(readme, '| In memory')).toMatch(/\| available — conformance 41 passed \|$/);
    expect(row(readme, '| NATS JetStream')).toMatch(
      /available — conformance 41 passed \(⚠️ stale report: abc1234 · /,
    );
    expect(row(readme, '| Redis Streams')).toMatch(
      /available — conformance 41 passed \(⚠️ stale report: fff0000 · /,
    );
  });

  it('without a recorded run, only the commit decides', () => {
    const root = workspace();
    report(root, 'memory', { commit: 'abc1234', generatedAt: '2020-01-01T00:00:00.000Z' });
    const { docs } = render(root);
    expect(row(docs, '| report |')).toBe('| report | abc1234 · 2020-01-01 00:00 UTC |');
  });
});
