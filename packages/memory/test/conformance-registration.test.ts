// Registering the conformance suite of @omnibus/conformance with its capabilities given: no bus is
// created to read them, every test is registered before the call returns (for runners whose test
// files cannot await at the top level), and a first test holds the bus to what was given.
import { conformanceGroups, runConformanceSuite } from '@omnibus/conformance';
import { type Capabilities, silentLogger } from '@omnibus/core';
import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../src/index.js';
import { recordingRunner } from './recording-runner.js';

const probe = createMemoryBus();
const capabilities: Capabilities = { ...probe.capabilities };
await probe.close();
const CHECK = 'conformance: memory › the bus declares the capabilities given to the suite';

describe('runConformanceSuite with capabilities', () => {
  it('registers every test before it returns, creating no bus', () => {
    let created = 0;
    const recording = recordingRunner(expect);
    const createBus = () => {
      created++;
      return createMemoryBus({ logger: silentLogger });
    };
    void runConformanceSuite(recording.runner, { name: 'memory', createBus, capabilities });
    expect(created).toBe(0);
    expect(recording.names()[0]).toBe(CHECK);
    for (const group of conformanceGroups)
      expect(recording.names().some((n) => n.startsWith(`conformance: memory › ${group.name} › `))).toBe(
        true,
      );
  });

  it('fails its first test when the bus declares other capabilities', async () => {
    const declared = (replay: boolean) => {
      const recording = recordingRunner(expect);
      const createBus = () => createMemoryBus({ history: replay, logger: silentLogger });
      void runConformanceSuite(recording.runner, { name: 'memory', createBus, capabilities });
      return recording;
    };
    await declared(capabilities.replay).run(CHECK);
    await expect(declared(!capabilities.replay).run(CHECK)).rejects.toThrow(/replay/);
  });
});
