#!/usr/bin/env node
// Prints the failed rows and cases of the last `pnpm test:faults` run (reports/faults.json), one
// line each, so the end of a CI log says what failed even when the fault suite's own table
// scrolled far up. Exits 0 whatever it finds: it reports, it does not judge.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'reports', 'faults.json');
if (!existsSync(file)) {
  console.log('::: faults: no reports/faults.json');
  process.exit(0);
}
const report = JSON.parse(readFileSync(file, 'utf8'));
const ageMin = Math.round((Date.now() - statSync(file).mtimeMs) / 60_000);
const lines = [
  ...(report.rows ?? [])
    .filter((r) => !r.passed)
    .map(
      (r) =>
        `${r.backend} · ${r.scenario}: ${r.lost} lost, ${r.outOfOrder} out of order, ${r.duplicates} duplicates; ${r.note}`,
    ),
  ...[...(report.badInput ?? []), ...(report.security ?? [])]
    .filter((c) => !c.passed)
    .map((c) => `${c.backend} · ${c.case}: expected ${c.expected}; observed ${c.observed}`),
];
console.log(`::: faults: ${lines.length} failed in reports/faults.json (written ${ageMin} min ago)`);
for (const line of lines) console.log(`:::   ${line}`);
