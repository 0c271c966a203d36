import { afterEach, describe, expect, it } from 'vitest';
import { createBus } from '../src/create-bus.js';
import { DLQ_HEADERS } from '../src/dead-letter.js';
import type { EventBus } from '../src/types.js';
import { inProcessDriver } from './support/in-process-driver.js';
import { reader } from './support/reader.js';
import { waitFor } from './support/wait-for.js';

// What core does with what the user configures and with handlers that misbehave: the dead-letter
// function, the backoff function, a handler that never returns. Moved from the memory bus's tests:
// core's runtime is what they test, on any driver.
let bus: EventBus;

afterEach(async () => {
  await bus?.close({ timeoutMs: 1_000 });
});

describe('close with a handler that never returns', () => {
  it('resolves at the timeout with the stats settled at once, and one warn line says so', async () => {
    const warnings: string[] = [];
    bus = createBus(inProcessDriver(), { logger: { warn: (line: string) => warnings.push(line) } });
    await bus.consume('stuck.x', () => new Promise(() => undefined));
    await bus.publish('stuck.x', 'x');
    await waitFor(() => bus.stats().inFlight === 1, 'the handler started');
    await bus.close({ timeoutMs: 300 });
    const s = bus.stats();
    expect(s).toMatchObject({ inFlight: 0, nakked: 1 });
    expect(s.delivered).toBe(s.acked + s.nakked + s.deadLettered + s.inFlight);
    expect(warnings.filter((w) => w.includes('1 handler still running after 300 ms'))).toHaveLength(1);
  });
});

describe('faults in what the user configures', () => {
  it('a dead-letter copy that is refused is reported once, kept (never handed out again) and dead-lettered once it can be', async () => {
    const warnings: string[] = [];
    let refuse = true;
    bus = createBus(inProcessDriver(), {
      logger: { warn: (line: string) => warnings.push(line) },
    });
    const dlq = reader(await bus.subscribe('dlq.>'));
    let calls = 0;
    await bus.consume(
      'jobs.x',
      () => {
        calls++;
        throw new Error('boom');
      },
      {
        maxAttempts: 1,
        backoff: () => 20,
        deadLetter: (subject) => (refuse ? 'not a subject' : `dlq.${subject}`),
      },
    );
    await bus.publish('jobs.x', 'payload');
    await waitFor(() => bus.stats().errors >= 4, 'the dead-letter retried a few times');
    expect(calls).toBe(1); // never handed out again
    expect(warnings.filter((w) => w.includes('dead-letter to "not a subject" failed'))).toHaveLength(1);
    let s = bus.stats();
    expect(s.delivered).toBe(s.acked + s.nakked + s.deadLettered + s.inFlight);
    refuse = false;
    const copy = await dlq.next(15_000);
    expect(copy.headers[DLQ_HEADERS.attempts]).toBe('1'); // the attempts the handler saw
    expect(warnings.some((w) => w.includes('works again'))).toBe(true);
    s = bus.stats();
    expect(s.deadLettered).toBe(1);
    expect(s.delivered).toBe(s.acked + s.nakked + s.deadLettered + s.inFlight);
  });

  it('a message terminated by the handler whose dead-letter copy is refused is not handed out again', async () => {
    let refuse = true;
    bus = createBus(inProcessDriver(), { logger: { warn() {} } });
    const dlq = reader(await bus.subscribe('dlq.>'));
    const attempts: number[] = [];
    await bus.consume(
      'jobs.t',
      async (m) => {
        attempts.push(m.attempt);
        await m.term('poison');
      },
      {
        maxAttempts: 5,
        backoff: () => 20,
        deadLetter: (subject) => (refuse ? 'not a subject' : `dlq.${subject}`),
      },
    );
    await bus.publish('jobs.t', 'x');
    await waitFor(() => bus.stats().errors >= 3, 'a few refused dead-letter tries');
    refuse = false;
    const copy = await dlq.next(15_000);
    expect(copy.headers[DLQ_HEADERS.reason]).toBe('poison');
    expect(copy.headers[DLQ_HEADERS.attempts]).toBe('1'); // the hand-outs the handler saw
    expect(attempts).toEqual([1]);
  });

  it('a backoff function that throws: onError hears of it, the default backoff is used, the message comes back', async () => {
    bus = createBus(inProcessDriver(), { logger: { warn() {} } });
    const errors: unknown[] = [];
    const attempts: number[] = [];
    await bus.consume(
      'jobs.y',
      (m) => {
        attempts.push(m.attempt);
        if (m.attempt === 1) throw new Error('first try fails');
      },
      {
        backoff: () => {
          throw new Error('backoff bug');
        },
        onError: (e) => errors.push(e),
      },
    );
    await bus.publish('jobs.y', 'x');
    await waitFor(() => attempts.length === 2, 'the retry');
    expect(attempts).toEqual([1, 2]);
    expect(errors).toEqual([
      expect.objectContaining({
        name: 'InvalidArgumentError',
        message: expect.stringContaining('backoff function threw'),
      }),
      expect.objectContaining({ message: 'first try fails' }),
    ]);
  });
});
