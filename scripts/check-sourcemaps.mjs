#!/usr/bin/env node
// Stack traces and debuggers follow the packages' source maps to `src/*.ts`, which the tarballs do
// not ship: every map in dist/ must therefore carry its sources (`sourcesContent`, one non-empty
// text per source). Run by each package's `check:packages` with the package directory. Exits 1
// with one line per map that does not.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const dir = resolve(process.argv[2] ?? '.');
const dist = join(dir, 'dist');
const failures = [];
const maps = existsSync(dist) ? readdirSync(dist).filter((f) => f.endsWith('.map')) : [];
if (maps.length === 0) failures.push(`${dist}: no source maps (build first)`);
for (const file of maps) {
  const map = JSON.parse(readFileSync(join(dist, file), 'utf8'));
  const sources = map.sources ?? [];
  const contents = map.sourcesContent ?? [];
  sources.forEach((source, i) => {
    if (typeof contents[i] !== 'string' || contents[i].length === 0)
      failures.push(`${join(dist, file)}: no sourcesContent for ${source}`);
  });
}
for (const line of failures) console.error(`[check-sourcemaps] ${line}`);
process.exit(failures.length > 0 ? 1 : 0);
