// The restart/pause scenarios of @omnibus/conformance: what they ask of their commands, and that they
// fail when acknowledged publishes are not delivered after the fault. The memory bus stands in for a
// broker: a "restart" here makes the consumer drop what it is given for a moment.

import { type RestartScenarioOptions, runRestartScenarios } from '@omnibus/conformance';
import { ConfigError, type EventBus, silentLogger } from '@omnibus/core';
import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../src/index.js';
import { type Recorded, recordingRunner } from './recording-runner.js';

/** Registers the scenarios with a runner that records them, so that a test can run one itself. */
function recorded(options: RestartScenarioOptions): Recorded {
  const recording = recordingRunner(expect);
  runRestartScenarios(recording.runner, options);
  return recording;
}

/** A memory bus whose consumers ignore (but settle) what they are given while `dropping()` holds. */
function lossyBus(dropping: () => boolean): EventBus {
  const bus = createMemoryBus({ logger: silentLogger });
  return {
    ...bus,
    consume: (pattern, handler, options) =>
      bus.consume(pattern, (m) => (dropping() ? undefined : handler(m)), options),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const quick = { messages: 20, timeoutMs: 3_000, pauseMs: 150 };

describe('restart and pause scenarios', () => {
  it('fail when messages acknowledged around a restart are never delivered, and name them', async () => {
    let dropping = false;
    const tests = recorded({
      name: 'lossy',
      createBus: () => lossyBus(() => dropping),
      restart: async () => {
        dropping = true;
        await sleep(100);
        dropping = false;
      },
      ...quick,
    });
    expect(tests.names()).toHaveLength(1);
    await expect(tests.run(tests.names()[0] as string)).rejects.toThrow(/-p\d+-\d+/);
  });

  it('pass on a bus that loses nothing, with the pause held for pauseMs between pause and resume', async () => {
    const calls: [string, number][] = [];
    const tests = recorded({
      name: 'memory',
      createBus: () => createMemoryBus({ logger: silentLogger }),
      pause: () => void calls.push(['pause', Date.now()]),
      resume: () => void calls.push(['resume', Date.now()]),
      ...quick,
    });
    expect(tests.names()).toEqual([
      'broker faults: memory › broker paused 150 ms under load, then resumed: publishes are acknowledged again and every acknowledged one is delivered',
    ]);
    await tests.run(tests.names()[0] as string);
    expect(calls.map(([what]) => what)).toEqual(['pause', 'resume']);
    expect((calls[1]?.[1] ?? 0) - (calls[0]?.[1] ?? 0)).toBeGreaterThanOrEqual(140);
  });

  it('refuse pause without resume, no command at all, a command that is no function and bad counts, with ConfigError', () => {
    const createBus = () => createMemoryBus();
    expect(() => recorded({ name: 'x', createBus, pause: () => undefined })).toThrow(ConfigError);
    expect(() => recorded({ name: 'x', createBus, pause: () => undefined })).toThrow(/resume: is missing/);
    expect(() => recorded({ name: 'x', createBus })).toThrow(/no fault command given/);
    const notAFunction = 'docker restart my-broker' as unknown as () => Promise<void>;
    expect(() => recorded({ name: 'x', createBus, restart: notAFunction })).toThrow(
      /restart: must be a function, got string/,
    );
    const restart = async () => undefined;
    expect(() => recorded({ name: 'x', createBus, restart, messages: 0 })).toThrow(
      /messages: must be a positive integer, got 0/,
    );
    expect(() => recorded({ name: 'x', createBus, restart, pauseMs: 1.5 })).toThrow(ConfigError);
    let error: unknown;
    try {
      recorded({ name: 'x', createBus, resume: () => undefined });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('pause');
    expect((error as ConfigError).hint).toContain('pass pause (freeze the broker');
  });
});
