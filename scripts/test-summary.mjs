#!/usr/bin/env node
// Adds up the vitest JSON results of every workspace package and prints, per package, the passed,
// failed and skipped counts (with the reason of each skipped integration suite), then one closing
// line: "Tests: N passed, N failed, N skipped". Exits 1 if any failed or none ran.
//
// Skipped = vitest's skipped and todo tests, plus the tests `withBroker` (@omnibus/testing)
// registers in place of an integration suite whose broker is missing: they are titled
// "skipped: <reason>" (SKIPPED_TITLE_PREFIX) and assert that the broker really is missing.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SKIPPED_TITLE_PREFIX = 'skipped: ';
// `--root <dir>` reads another workspace (for testing this script)
const rootAt = process.argv.indexOf('--root');
const root =
  rootAt > 0 ? resolve(process.argv[rootAt + 1] ?? '.') : join(dirname(fileURLToPath(import.meta.url)), '..');
let passed = 0;
let failed = 0;
let skipped = 0;
const perPackage = [];
for (const folder of ['packages', 'examples', 'suites']) {
  const base = join(root, folder);
  if (!existsSync(base)) continue;
  for (const name of readdirSync(base).sort()) {
    const dir = join(base, name, '.vitest');
    if (!existsSync(dir)) continue;
    for (const [runner, r] of runnerResults(dir)) count(`${folder}/${name}${runner}`, r);
  }
}

/**
 * The results a package's test runs left in its `.vitest/`: vitest's `results.json`, jest's
 * `jest-results.json` (the same JSON shape), and `node-test.tap` from `node --test` (its closing
 * `# pass` / `# fail` / `# skipped` / `# todo` lines).
 */
function runnerResults(dir) {
  const out = [];
  for (const [file, runner] of [
    ['results.json', ''],
    ['jest-results.json', ' (jest)'],
  ]) {
    if (existsSync(join(dir, file))) out.push([runner, JSON.parse(readFileSync(join(dir, file), 'utf8'))]);
  }
  const tap = join(dir, 'node-test.tap');
  if (existsSync(tap)) {
    const text = readFileSync(tap, 'utf8');
    const n = (key) => Number(new RegExp(`^# ${key} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    out.push([
      ' (node:test)',
      {
        numPassedTests: n('pass'),
        numFailedTests: n('fail'),
        numPendingTests: n('skipped'),
        numTodoTests: n('todo'),
      },
    ]);
  }
  return out;
}

function count(label, r) {
  const standIns = (r.testResults ?? [])
    .flatMap((f) => f.assertionResults ?? [])
    .filter((t) => t.status === 'passed' && t.title?.startsWith(SKIPPED_TITLE_PREFIX));
  const p = r.numPassedTests - standIns.length;
  const s = r.numPendingTests + (r.numTodoTests ?? 0) + standIns.length;
  passed += p;
  failed += r.numFailedTests;
  skipped += s;
  perPackage.push(`${label}: ${p} passed, ${r.numFailedTests} failed, ${s} skipped`);
  const reasons = [...new Set(standIns.map((t) => t.title.slice(SKIPPED_TITLE_PREFIX.length)))];
  for (const reason of reasons) perPackage.push(`  skipped: ${reason}`);
}
const lastLineOnly = process.argv.includes('--last-line-only');
if (!lastLineOnly) for (const line of perPackage) console.log(`  ${line}`);
console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
