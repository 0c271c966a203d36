// A third-party adapter depends on @omnibus/conformance with whatever test runner it uses: the
// built package must load nothing but Node's modules, @omnibus/core and fast-check — no vitest,
// no testcontainers, nothing bundled in from this repository's dev dependencies.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(packageDir, 'dist');
const allowed = new Set(['@omnibus/core', 'fast-check']);

/** Every module specifier that `code` imports, exports from, requires or loads with `import()` (comments aside). */
function importedSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((m) => m[1] as string));
}

const isBuiltin = (specifier: string) =>
  specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0] as string);

describe('@omnibus/conformance as built', () => {
  it('depends on @omnibus/core and fast-check only', () => {
    const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies).sort()).toEqual([...allowed].sort());
    expect(pkg.peerDependencies).toBeUndefined();
    expect(pkg.optionalDependencies).toBeUndefined();
  });

  it('imports nothing but node modules, @omnibus/core and fast-check from dist/', () => {
    expect(existsSync(dist), 'dist/ is missing: run `npx pnpm --filter @omnibus/conformance build`').toBe(
      true,
    );
    const files = readdirSync(dist).filter((f) => /\.(js|d\.ts)$/.test(f));
    expect(files).toContain('index.js');
    expect(files).toContain('index.d.ts');
    const foreign = files.flatMap((file) =>
      importedSpecifiers(readFileSync(join(dist, file), 'utf8'))
        .filter((s) => !s.startsWith('.') && !isBuiltin(s) && !allowed.has(s))
        .map((s) => `${file}: ${s}`),
    );
    expect(foreign).toEqual([]);
  });

  it('the scan sees static, side-effect, dynamic and type imports, not comments', () => {
    const code = [
      "import { it } from 'vitest';",
      "import 'testcontainers/setup';",
      "const tc = await import('testcontainers');",
      "export { x } from './local.js';",
      "import type { Expect } from '@vitest/expect';",
      "/** e.g. import { it } from 'jest' */",
      "// import 'bun:test'",
    ].join('\n');
    expect(importedSpecifiers(code).sort()).toEqual(
      ['./local.js', '@vitest/expect', 'testcontainers', 'testcontainers/setup', 'vitest'].sort(),
    );
  });
});
