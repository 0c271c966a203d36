import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The report directory of this repository's tooling: `OMNIBUS_REPORT_DIR`, else
 * `<workspace root>/reports` (the nearest folder above the working directory with a
 * `pnpm-workspace.yaml`), else `./reports`. `@omnibus/testing` passes it as `reportDir`; the kit
 * itself writes no report unless given a `reportDir`.
 */
export function defaultReportDir(): string {
  if (process.env.OMNIBUS_REPORT_DIR) return resolve(process.env.OMNIBUS_REPORT_DIR);
  let dir = process.cwd();
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return join(dir, 'reports');
    const parent = dirname(dir);
    if (parent === dir) return join(process.cwd(), 'reports');
    dir = parent;
  }
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
