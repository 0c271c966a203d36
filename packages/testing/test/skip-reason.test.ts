// A suite without a broker says why, in the output: one line naming the variable to set (and,
// when the container packages are missing, which package to install), and a test titled
// "skipped: <reason>" that the test summary counts as skipped.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { containerPackages, resolveBroker } from '../src/index.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

const notInstalled = (installed: string[]) => async (specifier: string) => {
  if (installed.includes(specifier)) return {};
  throw Object.assign(new Error(`Cannot find package '${specifier}' imported from /app/x.js`), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
};

describe('a missing broker', () => {
  it('names the container packages to install when they are missing', async () => {
    const redis = await resolveBroker('redis', { env: {}, importModule: notInstalled(['testcontainers']) });
    expect(redis.available).toBe(false);
    if (!redis.available) {
      expect(redis.reason).toContain('set REDIS_URL');
      expect(redis.reason).toContain('@testcontainers/redis not installed');
      expect(redis.reason).toContain('npm install --save-dev @testcontainers/redis');
    }
    const nats = await resolveBroker('nats', { env: {}, importModule: notInstalled([]) });
    if (!nats.available) expect(nats.reason).toContain('npm install --save-dev testcontainers)');
    expect(nats.available).toBe(false);
  });

  it('fails under CI=true with the package to install', async () => {
    await expect(
      resolveBroker('kafka', { env: { CI: 'true' }, importModule: notInstalled([]) }),
    ).rejects.toThrow(/CI=true.*set KAFKA_BROKERS.*npm install --save-dev testcontainers\)/);
  });

  it('says so when a container package is installed but fails to load', async () => {
    const broken = async () => {
      throw new Error('native binding failed to build\n    at stack');
    };
    const nats = await resolveBroker('nats', { env: {}, importModule: broken });
    expect(nats).toMatchObject({
      available: false,
      reason: expect.stringMatching(/set NATS_URL.*failed to load \(native binding failed to build\)$/),
    });
  });

  it('the container packages are optional peer dependencies, loaded only with import()', async () => {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
    const all = [...new Set(Object.values(containerPackages).flat())];
    for (const name of all) {
      expect(pkg.dependencies?.[name], name).toBeUndefined();
      expect(pkg.peerDependencies?.[name], name).toBeTypeOf('string');
      expect(pkg.peerDependenciesMeta?.[name]?.optional, name).toBe(true);
      expect(pkg.devDependencies?.[name], name).toBeTypeOf('string');
    }
    const source = readFileSync(join(packageDir, 'src', 'brokers.ts'), 'utf8');
    expect(source).not.toMatch(/^import [^;]*from '(testcontainers|@testcontainers\/[a-z]+)'/m);
  });

  it('shows the reason in the output of a vitest run of such a suite', () => {
    const run = spawnSync(
      process.execPath,
      [
        join(packageDir, 'node_modules', 'vitest', 'vitest.mjs'),
        'run',
        '--config',
        join(packageDir, 'test', 'fixtures', 'vitest.config.ts'),
        '--reporter=default',
        '--reporter=json',
      ],
      { cwd: packageDir, encoding: 'utf8', env: { ...process.env, CI: '', REDIS_URL: '' }, timeout: 60_000 },
    );
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, output).toBe(0);
    // one line naming the variable (this suite's own run registers no stand-in, so its summary stays clean)
    const lines = output.split('\n').filter((l) => l.includes('[omnibus:testing] skipped:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      '[omnibus:testing] skipped: redis integration tests need a broker: set REDIS_URL (see README "Integration tests")',
    );
    const json = JSON.parse(run.stdout.slice(run.stdout.indexOf('{"numTotalTestSuites"')));
    const titles = json.testResults.flatMap((f: { assertionResults: { title: string }[] }) =>
      f.assertionResults.map((a) => a.title),
    );
    expect(titles).toEqual([
      expect.stringMatching(/^skipped: redis integration tests need a broker: set REDIS_URL/),
    ]);
  }, 60_000);
});

describe('scripts/test-summary.mjs', () => {
  it('counts the stand-ins of skipped suites as skipped, per package and in total, with their reason', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const root = mkdtempSync(join(tmpdir(), 'omnibus-summary-'));
    const results = (name: string, tests: { title: string; status: string }[]) => {
      mkdirSync(join(root, 'packages', name, '.vitest'), { recursive: true });
      const count = (status: string) => tests.filter((t) => t.status === status).length;
      writeFileSync(
        join(root, 'packages', name, '.vitest', 'results.json'),
        JSON.stringify({
          numPassedTests: count('passed'),
          numFailedTests: count('failed'),
          numPendingTests: count('skipped'),
          numTodoTests: 0,
          testResults: [{ assertionResults: tests }],
        }),
      );
    };
    results('core', [
      { title: 'parses', status: 'passed' },
      { title: 'matches', status: 'passed' },
    ]);
    results('nats', [
      { title: 'skipped: nats integration tests need a broker: set NATS_URL', status: 'passed' },
      { title: 'skipped: nats integration tests need a broker: set NATS_URL', status: 'passed' },
      { title: 'parses options', status: 'passed' },
    ]);
    const run = spawnSync(
      process.execPath,
      [join(packageDir, '..', '..', 'scripts', 'test-summary.mjs'), '--root', root],
      { encoding: 'utf8' },
    );
    expect(run.stdout.split('\n')).toEqual([
      '  packages/core: 2 passed, 0 failed, 0 skipped',
      '  packages/nats: 1 passed, 0 failed, 2 skipped',
      '    skipped: nats integration tests need a broker: set NATS_URL',
      'Tests: 3 passed, 0 failed, 2 skipped',
      '',
    ]);
    expect(run.status).toBe(0);
  });
});
