#!/usr/bin/env node
// Adds up the vitest JSON results of every workspace package and prints one
// closing line: "Tests: N passed, N failed, N skipped". Exits 1 if any failed or none ran.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let passed = 0;
let failed = 0;
let skipped = 0;
const perPackage = [];
for (const folder of ['packages', 'examples']) {
  const base = join(root, folder);
  if (!existsSync(base)) continue;
  for (const name of readdirSync(base)) {
    const file = join(base, name, '.vitest', 'results.json');
    if (!existsSync(file)) continue;
    const r = JSON.parse(readFileSync(file, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + (r.numTodoTests ?? 0);
    perPackage.push(`${folder}/${name}: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  }
}
const lastLineOnly = process.argv.includes('--last-line-only');
if (!lastLineOnly) for (const line of perPackage) console.log(`  ${line}`);
console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
