// @omnibus/conformance is runner-agnostic: test/node-runner/conformance.node.ts registers the whole
// conformance suite and the restart/pause scenarios with node:test (no vitest in that process) on
// the memory bus; this runs it with `node --test` and reads the TAP summary.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { conformanceGroups } from '@omnibus/conformance';
import { expect, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

it('the conformance kit passes on memory under node:test', () => {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=tap', 'test/node-runner/conformance.node.ts'],
    { cwd: packageDir, encoding: 'utf8', timeout: 240_000, env: { ...process.env, NODE_OPTIONS: '' } },
  );
  const output = `${run.stdout}${run.stderr}`;
  const count = (name: string) => Number(output.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? -1);
  expect(count('fail'), output.slice(-4_000)).toBe(0);
  expect(count('cancelled')).toBe(0);
  expect(run.status).toBe(0);
  // every group ran a test or more, and both scenarios
  expect(count('pass')).toBeGreaterThanOrEqual(conformanceGroups.length + 2);
  for (const group of conformanceGroups) expect(output).toContain(`# Subtest: ${group.name}`);
  expect(output).toContain('# Subtest: broker restarted under load');
  expect(output).toContain('# Subtest: broker paused 200 ms under load');
}, 300_000);
