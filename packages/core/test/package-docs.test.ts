// Repository hygiene that users see in each published package: a LICENSE file, and a README whose
// links still work outside this repository (npm shows the README alone).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// every package of the workspace is released
const released = readdirSync(packagesDir).filter((name) =>
  existsSync(join(packagesDir, name, 'package.json')),
);

describe.each(released)('@omnibus/%s as published', (name) => {
  const dir = join(packagesDir, name);

  it('ships the MIT LICENSE of the repository', () => {
    const license = readFileSync(join(dir, 'LICENSE'), 'utf8');
    expect(license).toBe(readFileSync(join(packagesDir, '..', 'LICENSE'), 'utf8'));
    expect(license).toContain('Omnibus contributors');
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).license).toBe('MIT');
  });

  it('has a README whose relative links stay inside the package', () => {
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
    for (const link of links) {
      if (/^[a-z]+:/i.test(link) || link.startsWith('#')) continue;
      expect(link, `${name}/README.md links to ${link}`).not.toMatch(/^\.\.|^\//);
      expect(existsSync(join(dir, link.split('#')[0] as string)), `${name}/README.md: ${link}`).toBe(true);
    }
  });
});
