import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base.js';

/** The shared build, plus the executable (`bin.ts`, which keeps its `#!/usr/bin/env node` line). */
export default defineConfig({
  ...(packageBuild as object),
  entry: ['src/index.ts', 'src/bin.ts'],
});
