// A fresh app with only @omnibus/core, @omnibus/factory and @omnibus/memory installed — packed
// from this workspace and installed with npm, as the README says — type-checks with
// `skipLibCheck: false` and nothing but `module: nodenext` and `strict`, on every TypeScript
// version we support: the published types name no adapter that is not installed (no TS2307 for
// @omnibus/nats, redis, kafka) and need no `lib` setting (no AsyncDisposable errors on
// TypeScript 6 and 7, also for `await using`). Once the app imports the memory adapter's types, a misspelt option is a
// compile error; without them the memory options are accepted as they are (checked at run time).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const packed = ['core', 'factory', 'memory'];
const require = createRequire(import.meta.url);

/** TypeScript versions besides the workspace's, installed from npm into `.omnibus-cache` once. */
const OTHER_TYPESCRIPT_VERSIONS = ['6.0.3', '7.0.2'];

/** The environment of the npm and tsc children: without the npm_config_* that pnpm sets for itself. */
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('npm_')));

function run(command: string, args: string[], cwd: string, timeout = 120_000): string {
  return execFileSync(command, args, { cwd, env: childEnv, encoding: 'utf8', timeout, stdio: 'pipe' });
}

/** `tsc -p <config>` in `cwd`: its output, and whether it passed. */
function typeCheck(tsc: string, cwd: string, config: string): { ok: boolean; output: string } {
  try {
    return { ok: true, output: run(process.execPath, [tsc, '-p', config], cwd) };
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${stdout ?? ''}${stderr ?? ''}` };
  }
}

/** Fails with what to do when a package's build is older than its sources. */
function assertBuilt(pkg: string): void {
  const dir = join(root, 'packages', pkg);
  const built = join(dir, 'dist', 'index.d.ts');
  expect(existsSync(built), `packages/${pkg}/dist is missing: run \`npx pnpm build\``).toBe(true);
  const sources = readdirSync(join(dir, 'src'), { recursive: true }).map((f) => join(dir, 'src', String(f)));
  const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  expect(
    statSync(built).mtimeMs,
    `packages/${pkg}/dist is older than src: run \`npx pnpm build\``,
  ).toBeGreaterThan(newest - 1);
}

/** The tsc of each TypeScript version that could be had: the workspace's, and those npm installs. */
function typescripts(): { versions: { version: string; tsc: string }[]; missing: string[] } {
  const workspace = require.resolve('typescript/package.json');
  const versions = [
    {
      version: require('typescript/package.json').version as string,
      tsc: join(dirname(workspace), 'bin', 'tsc'),
    },
  ];
  const missing: string[] = [];
  for (const version of OTHER_TYPESCRIPT_VERSIONS) {
    const dir = join(root, '.omnibus-cache', 'typescript', version);
    const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
    if (!existsSync(tsc)) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), '{ "private": true }\n');
      try {
        run(
          'npm',
          ['install', '--no-audit', '--no-fund', '--prefer-offline', `typescript@${version}`],
          dir,
          180_000,
        );
      } catch (error) {
        missing.push(`typescript@${version} (npm install failed: ${String(error).split('\n', 1)[0]})`);
        continue;
      }
    }
    versions.push({ version, tsc });
  }
  return { versions, missing };
}

const config = (files: string[]) =>
  `${JSON.stringify({ compilerOptions: { module: 'nodenext', strict: true, skipLibCheck: false, noEmit: true }, files }, null, 2)}\n`;

/** The app: the README's calls, the memory adapter's types imported. */
const APP = `import { createEventBus, createEventBusFromEnv, registerAdapter, type ConfigFor } from '@omnibus/factory';
import type {} from '@omnibus/memory'; // its options type createEventBus({ backend: 'memory' }) and the memory block

await using bus = await createEventBus({ backend: 'memory', history: { maxMessages: 100 }, require: { replay: true } });
const fromEnv = await createEventBusFromEnv({ logger: console, require: { groups: true }, memory: { history: true } });
const config: ConfigFor<'memory'> = { backend: 'memory', maxBuffered: 10 };
const unregister = registerAdapter({
  name: 'mybus',
  schemes: ['mybus'],
  load: async () => (await import('@omnibus/memory')).createMemoryBus,
});
const disposing: PromiseLike<void> = fromEnv[Symbol.asyncDispose]();
await Promise.all([bus.publish('orders.created', 'x'), disposing, createEventBus(config).then((b) => b.close())]);
unregister();
`;

/** A misspelt option, with the memory adapter's types in the program. */
const TYPO = `import { createEventBus } from '@omnibus/factory';
import type {} from '@omnibus/memory';

await createEventBus({ backend: 'memory', histroy: true });
`;

/** Without the memory adapter's types: its options are not checked by tsc, and not refused. */
const UNTYPED = `import { createEventBus, createEventBusFromEnv } from '@omnibus/factory';

await (await createEventBus({ backend: 'memory', history: true })).close();
await (await createEventBusFromEnv({ memory: { history: true } })).close();
`;

const { versions, missing } = typescripts();
let app: string;

beforeAll(() => {
  for (const pkg of packed) assertBuilt(pkg);
  app = mkdtempSync(join(tmpdir(), 'omnibus-fresh-app-'));
  const tarballs = join(app, 'tarballs');
  mkdirSync(tarballs);
  const pnpm = join(root, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs');
  for (const pkg of packed)
    run(process.execPath, [pnpm, 'pack', '--pack-destination', tarballs], join(root, 'packages', pkg));
  writeFileSync(join(app, 'package.json'), '{ "name": "fresh-app", "private": true, "type": "module" }\n');
  const files = readdirSync(tarballs).map((f) => join(tarballs, f));
  expect(files).toHaveLength(packed.length);
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...files], app, 180_000);
  expect(readdirSync(join(app, 'node_modules', '@omnibus')).sort()).toEqual(['core', 'factory', 'memory']);
  for (const [name, text] of [
    ['app', APP],
    ['typo', TYPO],
    ['untyped', UNTYPED],
  ] as const) {
    writeFileSync(join(app, `${name}.ts`), text);
    writeFileSync(join(app, `tsconfig.${name}.json`), config([`${name}.ts`]));
  }
}, 300_000);

afterAll(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

describe('a fresh app with only core, factory and memory installed', () => {
  for (const { version, tsc } of versions) {
    it(`type-checks with skipLibCheck off on TypeScript ${version}`, () => {
      const { ok, output } = typeCheck(tsc, app, 'tsconfig.app.json');
      expect(output).toBe('');
      expect(ok).toBe(true);
    }, 120_000);

    it(`a misspelt memory option is a compile error on TypeScript ${version}`, () => {
      const { ok, output } = typeCheck(tsc, app, 'tsconfig.typo.json');
      expect(ok).toBe(false);
      expect(output).toMatch(/^typo\.ts\(4,\d+\): error TS\d+/);
      expect(output).toContain('histroy');
      expect(output).not.toContain('node_modules'); // the only error is the app's
    }, 120_000);

    it(`without the memory adapter's types the options are accepted on TypeScript ${version}`, () => {
      const { ok, output } = typeCheck(tsc, app, 'tsconfig.untyped.json');
      expect(output).toBe('');
      expect(ok).toBe(true);
    }, 120_000);
  }

  // like withBroker: a version npm cannot install here is reported, not hidden — and an error under CI
  for (const reason of missing) {
    it(`skipped: ${reason}`, () => {
      expect(process.env.CI === 'true' || process.env.CI === '1', `CI=true and ${reason}`).toBe(false);
    });
  }
});
