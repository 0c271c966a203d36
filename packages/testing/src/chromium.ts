import { accessSync, constants } from 'node:fs';

/** Where a system Chromium is looked for, after `OMNIBUS_CHROMIUM`. */
const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
];

/**
 * The Chromium (or Chrome) executable for browser tests driven by `playwright-core` or
 * `puppeteer-core`, which download no browser: `OMNIBUS_CHROMIUM`, else the first of the usual
 * system paths (Debian's `chromium` package installs `/usr/bin/chromium`).
 *
 * @throws Error naming the fix when none is found (a browser test fails, it is never skipped).
 */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.OMNIBUS_CHROMIUM?.trim();
  for (const path of given ? [given] : CANDIDATES) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // the next one
    }
  }
  throw new Error(
    given
      ? `OMNIBUS_CHROMIUM=${given} is not an executable`
      : `no Chromium found (${CANDIDATES.join(', ')}): install it (apt-get install chromium) or set OMNIBUS_CHROMIUM`,
  );
}
