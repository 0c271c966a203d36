// A misspelt option is refused with a suggestion, never ignored: `grup` would turn a work queue
// into fan-out (every instance gets every message), `idd` would lose deduplication.
import { describe, expect, it } from 'vitest';
import { ConfigError, createBus } from '../src/index.js';
import { inProcessDriver } from './support/in-process-driver.js';

const refusal = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
};

describe('misspelt options', () => {
  it('subscribe and consume: refused with "did you mean", nothing subscribed', async () => {
    const bus = createBus(inProcessDriver());
    const sub = await refusal(bus.subscribe('a.b', { grup: 'workers' } as never));
    expect(sub.message).toContain('"grup" (did you mean "group"?)');
    const con = await refusal(bus.consume('a.b', () => undefined, { maxInflight: 1 } as never));
    expect(con.message).toContain('did you mean "maxInFlight"');
    // onError belongs to consume only
    await refusal(bus.subscribe('a.b', { onError: () => undefined } as never));
    const ok = await bus.consume('a.b', () => undefined, { group: 'g', onError: () => undefined });
    await ok.close();
    expect(bus.stats().inFlight).toBe(0);
    await bus.close();
  });

  it('publish and publishBatch: refused, nothing published', async () => {
    const bus = createBus(inProcessDriver());
    const seen: string[] = [];
    await bus.consume('a.*', (m) => void seen.push(m.subject));
    const one = await refusal(bus.publish('a.b', 'x', { idd: 'order-1' } as never));
    expect(one.message).toContain('did you mean "id"');
    await refusal(bus.publishBatch([{ subject: 'a.c', payload: 'x', header: {} } as never]));
    await bus.publish('a.d', 'x', { id: 'order-2', headers: { k: 'v' }, delivery: 'at-least-once' });
    await bus.publishBatch([{ subject: 'a.e', payload: 'y', id: 'order-3' }]);
    expect(bus.stats().published).toBe(2);
    await bus.close();
  });
});
