// The README's quick start, run as a user runs it: extracted from README.md, written to a file in
// this package (so the imports resolve as in an app) and run with tsx in a child process, against
// the local PostgreSQL.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeSnippet } from '@omnibus/testing';
import { describe, expect, it } from 'vitest';
import { PG_URL } from './db.js';

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, '..', 'README.md'), 'utf8');
const tsx = createRequire(import.meta.url).resolve('tsx/cli');

const snippet = (name: string) => readmeSnippet(readme, name);

describe('README', () => {
  it('the quick start runs: the order row and its event commit together, the invoice is written once', () => {
    const dir = join(here, '..', '.readme-run');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'quick-start.ts');
    writeFileSync(file, snippet('quick-start'));
    const child = spawnSync(process.execPath, [tsx, file], {
      cwd: join(here, '..'),
      env: { ...process.env, DATABASE_URL: PG_URL },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const out = `${child.stdout}${child.stderr}`;
    const match = /(\d+) forwarded; (\d+) invoiced/.exec(out);
    expect(match, out).not.toBeNull();
    expect(Number(match?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(match?.[2])).toBeGreaterThanOrEqual(1);
    expect(child.status).toBe(0);
  });
});
