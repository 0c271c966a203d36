#!/usr/bin/env node
// Proves that CommonJS code can `require()` each package from its built dist/ (Node ≥ 20.19 loads
// ESM without top-level await through require). For every package directory given (default: all
// of packages/*), a fresh `node` process runs `require('<package name>')` from inside the package
// (a self-reference, so it goes through the `exports` map exactly as an installed package does) and
// checks that a known export is a function. Run by each package's `check:packages` and by
// packages/core/test/require.test.ts. Exits 1 with one line per failure.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** One exported function per package that a CommonJS caller must find. */
export const requiredExports = {
  '@omnibus/core': 'createBus',
  '@omnibus/memory': 'createMemoryBus',
  '@omnibus/factory': 'createEventBus',
  '@omnibus/nats': 'createNatsBus',
  '@omnibus/redis': 'createRedisBus',
  '@omnibus/kafka': 'createKafkaBus',
  '@omnibus/rabbitmq': 'createRabbitMqBus',
  '@omnibus/conformance': 'runConformanceSuite',
  '@omnibus/testing': 'runConformanceSuite',
  '@omnibus/cli': 'runCli',
  '@omnibus/harness': 'createHarness',
  '@omnibus/otel': 'instrumentOmnibus',
  '@omnibus/outbox': 'createOutbox',
};

/** Requires the package in `dir` from a child `node`: an error line, or undefined when it works. */
export function checkRequire(dir) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const name = pkg.name;
  const fn = requiredExports[name];
  if (!fn) return `${name}: no export to check is listed in scripts/check-require.mjs`;
  if (!existsSync(join(dir, 'dist'))) return `${name}: dist/ is missing — run \`npx pnpm build\` first`;
  const code = [
    `const m = require(${JSON.stringify(name)});`,
    `if (typeof m[${JSON.stringify(fn)}] !== 'function') {`,
    `  console.error('require(${name}).${fn} is ' + typeof m[${JSON.stringify(fn)}]);`,
    '  process.exit(2);',
    '}',
  ].join('\n');
  const run = spawnSync(process.execPath, ['-e', code], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  if (run.status === 0) return undefined;
  const why =
    `${run.stderr ?? ''}`.split('\n').find((l) => /Error|error|is /.test(l)) ?? `exit ${run.status}`;
  return `${name}: require() failed: ${why.trim()}`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const dirs = args.length
    ? args.map((a) => resolve(a))
    : readdirSync(join(root, 'packages'))
        .map((n) => join(root, 'packages', n))
        .filter((d) => existsSync(join(d, 'package.json')));
  const failures = dirs.map(checkRequire).filter(Boolean);
  for (const f of failures) console.error(f);
  if (failures.length === 0) console.log(`require() works: ${dirs.length} package(s)`);
  process.exit(failures.length ? 1 : 0);
}
