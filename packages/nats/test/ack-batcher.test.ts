import type { JsMsg } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { AckBatcher } from '../src/ack-batcher.js';

const message = (log: string[], name: string, fail = false) =>
  ({
    ack() {
      if (fail) throw new Error('connection closed');
      log.push(name);
    },
  }) as unknown as JsMsg;

describe('acks written together', () => {
  it('queues acks and writes them in order on flush, or by itself on the next turn', async () => {
    const log: string[] = [];
    const acks = new AckBatcher(() => undefined);
    acks.ack(message(log, 'a'));
    acks.ack(message(log, 'b'));
    expect(log).toEqual([]);
    acks.flush();
    expect(log).toEqual(['a', 'b']);
    acks.ack(message(log, 'c'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['a', 'b', 'c']);
  });

  it('an ack the client refuses is reported and the rest of the batch still goes out', () => {
    const log: string[] = [];
    const errors: unknown[] = [];
    const acks = new AckBatcher((error) => errors.push(error));
    acks.ack(message(log, 'a'));
    acks.ack(message(log, 'b', true));
    acks.ack(message(log, 'c'));
    expect(() => acks.flush()).not.toThrow();
    expect(log).toEqual(['a', 'c']);
    expect(errors).toHaveLength(1);
  });
});
