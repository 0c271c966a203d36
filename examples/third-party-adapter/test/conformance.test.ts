// The whole Omnibus conformance suite, on the bus @omnibus/factory selects for OMNIBUS_URL=loopback://
// once the adapter is registered. Groups whose capability the loopback bus lacks (replay, dedupe,
// durability) are reported as unsupported. It uses the runner-agnostic kit, @omnibus/conformance,
// with vitest's functions: no broker fixtures, no testcontainers. No report is written (reportDir
// unset): reports/ is for the @omnibus adapters.
import { runConformanceSuite } from '@omnibus/conformance';
import { createEventBusFromEnv, registerAdapter } from '@omnibus/factory';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loopbackAdapter } from '../src/index.js';

registerAdapter(loopbackAdapter);

await runConformanceSuite(
  { describe, it, beforeEach, afterEach, afterAll, expect },
  {
    name: 'loopback',
    createBus: () => createEventBusFromEnv({ env: { OMNIBUS_URL: 'loopback://' } }),
  },
);
