import type { Expect, TestRunner } from '@omnibus/conformance';

/** What a {@link recordingRunner} registered: test names (`describe › … › it`) and a way to run one. */
export interface Recorded {
  runner: TestRunner;
  names(): string[];
  /** Runs one registered test between the recorded `beforeEach` and `afterEach` hooks. */
  run(name: string): Promise<void>;
}

/** A `TestRunner` of @omnibus/conformance that records tests instead of running them. */
export function recordingRunner(expect: Expect): Recorded {
  const tests = new Map<string, () => unknown>();
  const before: (() => unknown)[] = [];
  const after: (() => unknown)[] = [];
  const path: string[] = [];
  const runner: TestRunner = {
    describe(name, fn) {
      path.push(name);
      try {
        fn();
      } finally {
        path.pop();
      }
    },
    it: (name, fn) => void tests.set([...path, name].join(' › '), fn),
    beforeEach: (fn) => void before.push(fn),
    afterEach: (fn) => void after.push(fn),
    afterAll: () => undefined,
    expect,
  };
  return {
    runner,
    names: () => [...tests.keys()],
    async run(name) {
      const test = tests.get(name);
      if (!test) throw new Error(`no test "${name}" registered`);
      for (const hook of before) await hook();
      try {
        await test();
      } finally {
        for (const hook of after) await hook();
      }
    },
  };
}
