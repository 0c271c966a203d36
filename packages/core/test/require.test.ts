// CommonJS users: every package can be loaded with require() on Node ≥ 20.19 (require of ESM
// without top-level await). Checks the `exports` conditions, then requires each built package
// from a child `node` process (scripts/check-require.mjs) and looks for an exported function.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const released = readdirSync(packagesDir).filter((name) =>
  existsSync(join(packagesDir, name, 'package.json')),
);
const script = join(packagesDir, '..', 'scripts', 'check-require.mjs');
const { checkRequire, requiredExports } = (await import(script)) as {
  checkRequire: (dir: string) => string | undefined;
  requiredExports: Record<string, string>;
};

describe.each(released)('@omnibus/%s from CommonJS', (name) => {
  const dir = join(packagesDir, name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

  it('exports "types" first, then "import", then "default" for require()', () => {
    const conditions = pkg.exports['.'];
    expect(Object.keys(conditions)).toEqual(['types', 'import', 'default']);
    expect(conditions.default).toBe(conditions.import);
    expect(pkg.engines.node).toBe('>=20.19');
    expect(requiredExports[pkg.name], `scripts/check-require.mjs lists ${pkg.name}`).toBeTypeOf('string');
  });

  it('loads with require() in a fresh node process, from the built dist', () => {
    expect(checkRequire(dir)).toBeUndefined();
  }, 30_000);
});
