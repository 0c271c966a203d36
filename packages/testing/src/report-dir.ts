import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Where reports go: `OMNIBUS_REPORT_DIR`, else `<workspace root>/reports`, else `./reports`. */
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
