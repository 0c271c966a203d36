// A failed create releases everything it opened: a process whose bus could not connect exits by
// itself, at once. Each case runs in a child `node` process importing the built package (dist).
import { testFailedCreateExits } from '@omnibus/testing';

testFailedCreateExits({
  module: new URL('../dist/index.js', import.meta.url).href,
  create: 'createRedisBus',
  options: (port) => ({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 1_500 }),
  // "at once", with room for a loaded machine
  exitWithinMs: 2_000,
});
