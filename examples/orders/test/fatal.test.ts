import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@omnibus/core';
import { describe, expect, it } from 'vitest';
import { debugEnabled, fatalMessage } from '../src/fatal.js';

const exampleDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function runMain(env: Record<string, string>) {
  const { DEBUG: _debug, ...inherited } = process.env;
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: exampleDir,
    env: { ...inherited, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('a failing start prints one readable line', () => {
  it('bad OMNIBUS_URL: one line with class, code, message and hint; exit 1; no stack, no password', () => {
    const result = runMain({ OMNIBUS_URL: 'bob:hunter2@127.0.0.1:4222' });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^ConfigError CONFIG: \[omnibus\] OMNIBUS_URL: unknown scheme .*\(hint: .*nats:\/\/.*\)$/,
    );
    expect(result.stderr + result.stdout).not.toContain('hunter2');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('DEBUG=omnibus adds the stack', () => {
    const result = runMain({ OMNIBUS_URL: 'bob:hunter2@127.0.0.1:4222', DEBUG: 'omnibus' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^\s+at /m);
    expect(result.stderr).not.toContain('hunter2');
  });
});

describe('fatalMessage', () => {
  it('is one line unless DEBUG names omnibus', () => {
    const error = new ConfigError('url', 'bad');
    expect(fatalMessage(error, {})).toBe('ConfigError CONFIG: [omnibus] url: bad');
    expect(fatalMessage(error, { DEBUG: 'omnibus' }).split('\n').length).toBeGreaterThan(1);
    expect(debugEnabled({ DEBUG: 'express,omnibus:*' })).toBe(true);
    expect(debugEnabled({ DEBUG: '*' })).toBe(true);
    expect(debugEnabled({ DEBUG: 'express' })).toBe(false);
  });
});
