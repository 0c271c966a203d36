#!/usr/bin/env node
// What a release would do, without doing it: `changeset version` in a throw-away worktree of HEAD,
// then every package's version before and after. Fails when a 0.x package would jump to a new major
// that no changeset asked for (changesets bumps a dependent to a major when a 0.x peer range no
// longer holds — the reason the factory declares no peer dependencies on the adapters). Run by CI;
// `node scripts/release-dry-run.mjs` shows the table.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** name → version of every published package under `dir`/packages. */
function versions(dir) {
  const out = new Map();
  for (const name of readdirSync(join(dir, 'packages'))) {
    const file = join(dir, 'packages', name, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8'));
    if (!pkg.private) out.set(pkg.name, pkg.version);
  }
  return out;
}

/** Packages a pending changeset bumps as major. */
function declaredMajors(dir) {
  const majors = new Set();
  for (const file of readdirSync(join(dir, '.changeset'))) {
    if (!file.endsWith('.md')) continue;
    const front = readFileSync(join(dir, '.changeset', file), 'utf8').split('---')[1] ?? '';
    for (const m of front.matchAll(/['"]?(@[^'":\s]+)['"]?\s*:\s*major/g)) majors.add(m[1]);
  }
  return majors;
}

const work = mkdtempSync(join(tmpdir(), 'omnibus-release-'));
const tree = join(work, 'tree');
let failed = false;
try {
  run('git', ['worktree', 'add', '--detach', tree, 'HEAD'], root);
  symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
  const before = versions(tree);
  const majors = declaredMajors(tree);
  run(process.execPath, [join(root, 'node_modules', '@changesets', 'cli', 'bin.js'), 'version'], tree);
  const after = versions(tree);
  console.log('package                    now      after changeset version');
  for (const [name, was] of before) {
    const next = after.get(name);
    const jumped = was.startsWith('0.') && !next.startsWith('0.') && !majors.has(name);
    if (jumped) failed = true;
    console.log(
      `${name.padEnd(26)} ${was.padEnd(8)} ${next}${jumped ? '   ← a major no changeset asked for' : ''}`,
    );
  }
} finally {
  try {
    run('git', ['worktree', 'remove', '--force', tree], root);
  } catch {
    // the worktree was never made
  }
  rmSync(work, { recursive: true, force: true });
}
if (failed) {
  console.error('[release-dry-run] a release would bump a 0.x package to a major nobody asked for');
  process.exit(1);
}
