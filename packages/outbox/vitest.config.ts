import { defineConfig } from 'vitest/config';

/** Every test file shares one PostgreSQL database: run files one after another. */
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], fileParallelism: false, testTimeout: 60_000, hookTimeout: 60_000 },
});
