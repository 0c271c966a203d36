import { ConfigError, type EventBus } from '@omnibus/core';
import { uniquePrefix, waitFor } from './reader.js';
import type { Expect, TestRunner } from './runner.js';

/** Options of `runRestartScenarios`: the bus, and the commands that break the broker behind it. */
export interface RestartScenarioOptions {
  /** Backend name, used in the test titles. */
  name: string;
  /** Creates a fresh, connected bus on the broker the commands act on; one per scenario, closed after it. */
  createBus: () => EventBus | Promise<EventBus>;
  /**
   * Stops the broker and starts it again with its data (SIGKILL and start, `docker restart`…);
   * the promise it returns, if any, resolves once it was started again. Without it the restart
   * scenario is not registered.
   */
  restart?: () => unknown;
  /**
   * Freezes the broker: its sockets stay open and nothing answers (SIGSTOP, `docker pause`…).
   * Given with `resume`; without both the pause scenario is not registered.
   */
  pause?: () => unknown;
  /** Thaws what `pause` froze (SIGCONT, `docker unpause`…). */
  resume?: () => unknown;
  /** How long the broker stays paused (default 5,000 ms): longer than the client timeouts that notice it. */
  pauseMs?: number;
  /** Publishes acknowledged before the fault, and again after it, before the scenario stops publishing (default 50). */
  messages?: number;
  /** Concurrent publishers, each on its own subject, one awaited publish at a time (default 4). */
  publishers?: number;
  /** Upper bound of each wait: for publishes acknowledged before and after the fault, then for their delivery (default 60,000 ms). */
  timeoutMs?: number;
}

/** A fault the scenario runs while its publishers keep publishing. */
type Fault = () => Promise<void>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** Pause between a publisher's acknowledged publishes, and time the consumer's handler takes (ms). */
const PUBLISH_GAP_MS = 10;
const HANDLER_MS = 10;

/**
 * Registers the broker fault scenarios with `runner` (see `TestRunner`), for the commands given:
 * the broker restarted, and paused then resumed, each under a light load — publishers on one bus,
 * a consumer (grouped where the bus has groups) on the same bus, slower than the publishers, so
 * that the broker holds a backlog when the fault comes. Each checks that the bus recovers
 * without being created again (publishes are acknowledged again after the fault) and that every
 * acknowledged publish — before, during and after the fault — is delivered. A publish rejected
 * while the broker is away is counted, not required. Duplicates are allowed (at-least-once).
 * Throws `ConfigError` when no scenario can run, or when `pause` and `resume` do not come together.
 *
 * @example
 * const redis = await startLocalRedis({ aof: true }); // @omnibus/testing's launcher, or your own
 * runRestartScenarios(runner, {
 *   name: 'redis',
 *   createBus: () => createRedisBus({ url: redis.url }),
 *   restart: async () => { await redis.kill(); await redis.restart(); },
 *   pause: () => redis.pause(true),
 *   resume: () => redis.pause(false),
 * });
 */
export function runRestartScenarios(runner: TestRunner, options: RestartScenarioOptions): void {
  const { pause, resume, restart } = options;
  for (const [field, command] of Object.entries({ restart, pause, resume }))
    if (command !== undefined && typeof command !== 'function')
      throw new ConfigError(field, `must be a function, got ${typeof command}`, {
        hint: `pass the command as a function, e.g. ${field}: () => broker.${field}()`,
      });
  for (const field of ['pauseMs', 'messages', 'publishers', 'timeoutMs'] as const) {
    const value = options[field];
    if (value !== undefined && !(Number.isInteger(value) && value > 0))
      throw new ConfigError(field, `must be a positive integer, got ${String(value)}`, {
        hint: `leave ${field} out for its default`,
      });
  }
  if ((pause === undefined) !== (resume === undefined))
    throw new ConfigError(pause ? 'resume' : 'pause', 'is missing: the pause scenario needs both commands', {
      hint: 'pass pause (freeze the broker, e.g. SIGSTOP) and resume (thaw it, e.g. SIGCONT), or neither',
    });
  if (!restart && !pause)
    throw new ConfigError('restart', 'no fault command given: there is no scenario to run', {
      hint: 'pass restart (stop and start the broker), or pause and resume, or both',
    });
  const timeoutMs = options.timeoutMs ?? 60_000;
  const pauseMs = options.pauseMs ?? 5_000;
  const testTimeout = 3 * timeoutMs + pauseMs + 30_000;
  runner.describe(`broker faults: ${options.name}`, () => {
    if (restart)
      runner.it(
        'broker restarted under load: publishes are acknowledged again and every acknowledged one is delivered',
        () =>
          underLoad(options, runner.expect, async () => {
            await restart();
          }),
        testTimeout,
      );
    if (pause && resume)
      runner.it(
        `broker paused ${pauseMs} ms under load, then resumed: publishes are acknowledged again and every acknowledged one is delivered`,
        () =>
          underLoad(options, runner.expect, async () => {
            await pause();
            try {
              await sleep(pauseMs);
            } finally {
              await resume();
            }
          }),
        testTimeout,
      );
  });
}

/** Runs `fault` while publishers publish, then checks recovery and delivery. */
async function underLoad(options: RestartScenarioOptions, expect: Expect, fault: Fault): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const messages = options.messages ?? 50;
  const prefix = uniquePrefix();
  const bus = await options.createBus();
  const delivered = new Set<string>();
  const acknowledged: string[] = [];
  let ackedAfter = 0;
  let rejected = 0;
  let phase: 'before' | 'fault' | 'after' = 'before';
  let stop = false;
  const publisher = async (p: number) => {
    for (let i = 0; !stop; i++) {
      const id = `${prefix}-p${p}-${i}`;
      try {
        await bus.publish(`${prefix}.p${p}`, `m${i}`, { id });
        acknowledged.push(id);
        if (phase === 'after') ackedAfter++;
        await sleep(PUBLISH_GAP_MS);
      } catch {
        rejected++; // the broker is away: counted, not lost; try the next one a little later
        await sleep(100);
      }
    }
  };
  try {
    // slower than the publishers: at the fault the broker holds acknowledged messages not yet handled
    const consumer = await bus.consume(
      `${prefix}.*`,
      async (m) => {
        await sleep(HANDLER_MS);
        delivered.add(m.id);
      },
      { maxInFlight: 1, ...(bus.capabilities.groups ? { group: `${prefix}-faults` } : {}) },
    );
    const publishing = Array.from({ length: options.publishers ?? 4 }, (_, p) => publisher(p));
    try {
      await waitFor(() => acknowledged.length >= messages, `${messages} publishes acknowledged`, timeoutMs);
      phase = 'fault';
      await fault();
      phase = 'after';
      await waitFor(
        () => ackedAfter >= messages,
        `${messages} publishes acknowledged after the fault (${ackedAfter} so far, ${rejected} rejected)`,
        timeoutMs,
      );
    } finally {
      stop = true;
      await Promise.all(publishing);
    }
    const missing = () => acknowledged.filter((id) => !delivered.has(id));
    await waitFor(() => missing().length === 0, 'every acknowledged publish delivered', timeoutMs).catch(
      () => undefined, // the assertion below names what is missing
    );
    expect(missing()).toEqual([]);
    await consumer.close();
  } finally {
    await bus.close({ timeoutMs: 2_000 }).catch(() => undefined);
  }
}
