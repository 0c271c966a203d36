import { defineConfig } from 'tsup';

/** The build every package shares: ESM with declarations and source maps, for Node 20. */
export const packageBuild = defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
