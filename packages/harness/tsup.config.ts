import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base.js';

/** The shared build with the matcher entry points; the test runners stay outside the bundle. */
export default defineConfig({
  ...(packageBuild as object),
  entry: ['src/index.ts', 'src/matchers.ts', 'src/vitest.ts', 'src/jest.ts'],
  external: ['vitest', '@jest/globals', 'expect'],
});
