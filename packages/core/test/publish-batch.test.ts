import { describe, expect, it } from 'vitest';
import { createBus } from '../src/create-bus.js';
import type { BusDriver, DriverReceipt, OutgoingMessage } from '../src/driver.js';
import { PublishError } from '../src/errors.js';

/**
 * A transport that stores what it is given in an array and fails where told: the backend-neutral
 * half of publishBatch's contract (what core reports from what a driver says), without a broker.
 */
function driver(behaviour: {
  failAt?: number;
  batch?: (messages: readonly OutgoingMessage[]) => Promise<DriverReceipt[]>;
}): BusDriver & { stored: string[] } {
  const stored: string[] = [];
  return {
    backend: 'test',
    stored,
    capabilities: {
      durable: false,
      replay: false,
      groups: false,
      dedupe: true,
      delayedNak: false,
      ordering: 'subject',
      groupBalance: 'message',
      wildcards: 'native',
      maxPayloadBytes: 1024,
    },
    publish(message) {
      if (stored.length === behaviour.failAt) throw new Error('refused');
      stored.push(message.id);
      return { duplicate: false };
    },
    ...(behaviour.batch ? { publishBatch: behaviour.batch } : {}),
    subscribe: () => Promise.reject(new Error('not used')),
    close: () => Promise.resolve(),
  };
}

const entries = Array.from({ length: 5 }, (_, i) => ({ subject: 'batch.x', payload: `${i}`, id: `e${i}` }));

describe('publishBatch failures', () => {
  it('one at a time (no driver batch): accepted is what was stored, the rest were not sent', async () => {
    const d = driver({ failAt: 2 });
    const error = await createBus(d)
      .publishBatch(entries)
      .catch((e) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect(error.message).toContain(
      'failed at entry 2 of 5: entries 0-1 stored (accepted); the rest were not stored',
    );
    expect(error.accepted.map((r: { id: string }) => r.id)).toEqual(['e0', 'e1']);
    expect(error.maybeStored).toEqual([]);
    expect(error.hint).toBe('publish entries 2–4 again');
    expect(d.stored).toEqual(['e0', 'e1']);
  });

  it("a driver's maybeStored is passed on, sorted, without the accepted prefix or indexes out of range", async () => {
    const d = driver({
      batch: () =>
        Promise.reject(
          new PublishError('entry 1 failed', {
            accepted: [{ duplicate: false, sequence: '1' }],
            maybeStored: [4, 0, 3, 3, 9, 1.5],
          }),
        ),
    });
    const error = await createBus(d)
      .publishBatch(entries)
      .catch((e) => e);
    expect(error.accepted).toEqual([{ id: 'e0', subject: 'batch.x', duplicate: false, sequence: '1' }]);
    expect(error.maybeStored).toEqual([3, 4]);
    expect(error.message).toContain(
      'failed at entry 1 of 5: entries 0-0 stored (accepted); 2 of the rest may have been stored',
    );
    expect(error.cause.message).toContain('entry 1 failed');
    // this backend dedupes: everything from the first failure on can go again, same ids
    expect(error.hint).toBe(
      'publish entries 1–4 again with the same ids: those already stored (maybeStored) are deduplicated',
    );
  });

  it("without dedupe the hint warns of duplicates, and the backend's own hint comes first", async () => {
    const d = driver({
      batch: () =>
        Promise.reject(
          new PublishError('entry 0 failed', {
            maybeStored: [0, 1],
            cause: new PublishError('too big', { hint: 'raise max.message.bytes' }),
          }),
        ),
    });
    const error = await createBus({ ...d, capabilities: { ...d.capabilities, dedupe: false } })
      .publishBatch(entries.slice(0, 2))
      .catch((e) => e);
    expect(error.hint).toBe(
      'raise max.message.bytes; then publish again the entries from 0 on that are not in maybeStored; those in it may be stored already (no dedupe here: again may mean twice)',
    );
  });

  it('a driver batch that throws anything but a PublishError leaves every entry maybe stored', async () => {
    const d = driver({ batch: () => Promise.reject(new Error('socket closed')) });
    const error = await createBus(d)
      .publishBatch(entries)
      .catch((e) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect(error.accepted).toEqual([]);
    expect(error.maybeStored).toEqual([0, 1, 2, 3, 4]);
  });

  it('an invalid entry rejects the whole batch before anything is sent', async () => {
    const d = driver({});
    await expect(
      createBus(d).publishBatch([...entries, { subject: 'batch.x', payload: 'x'.repeat(2048), id: 'big' }]),
    ).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(d.stored).toEqual([]);
  });
});
