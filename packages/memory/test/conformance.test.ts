import { silentLogger } from '@omnibus/core';
import { runConformanceSuite } from '@omnibus/testing';
import { createMemoryBus } from '../src/index.js';

await runConformanceSuite({
  name: 'memory',
  createBus: () => createMemoryBus({ history: true, logger: silentLogger }),
});
