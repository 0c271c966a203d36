import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // the files mostly wait on brokers and timers: three at a time even on two cores
    maxWorkers: Math.max(3, availableParallelism() - 1),
  },
});
