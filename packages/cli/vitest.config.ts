import { defineConfig } from 'vitest/config';

// the tests spawn the built binary against real brokers: one file at a time, generous timeouts
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000, fileParallelism: false },
});
