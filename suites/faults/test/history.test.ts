import { describe, expect, it } from 'vitest';
import { History } from '../src/history.js';

/** A history from a compact script: publishes `p:<id>:<subject>:<publisher>:<outcome>`, deliveries `d:<id>[:consumer]`. */
function run(steps: string[]) {
  const h = new History();
  for (const step of steps) {
    const [kind, id = '', a, b, c] = step.split(':');
    if (kind === 'p') {
      h.publish(id, a as string, b as string);
      h.outcome(id, (c ?? 'acknowledged') as 'acknowledged' | 'rejected' | 'unknown');
    } else h.deliver(id, a);
  }
  return h.check();
}

describe('History', () => {
  it('a clean history passes', () => {
    const r = run(['p:1:s:A', 'p:2:s:A', 'd:1', 'd:2']);
    expect(r).toMatchObject({
      published: 2,
      acknowledged: 2,
      lost: 0,
      duplicates: 0,
      outOfOrder: 0,
      passed: true,
    });
  });

  it('an acknowledged publish nobody received is lost, and fails', () => {
    const r = run(['p:1:s:A', 'p:2:s:A', 'd:1']);
    expect(r).toMatchObject({ lost: 1, lostIds: ['2'], passed: false });
  });

  it('a rejected or unknown publish that never arrives is not lost', () => {
    const r = run(['p:1:s:A:rejected', 'p:2:s:A:unknown', 'p:3:s:A']);
    expect(r.lost).toBe(1);
    expect(r).toMatchObject({ rejected: 1, unknown: 1, acknowledged: 1 });
  });

  it('duplicates are counted, not hidden, and do not fail the check', () => {
    const r = run(['p:1:s:A', 'd:1', 'd:1', 'd:1']);
    expect(r).toMatchObject({ duplicates: 2, delivered: 3, passed: true });
  });

  it('a first delivery after a later message of the same publisher and subject is out of order', () => {
    const r = run(['p:1:s:A', 'p:2:s:A', 'p:3:s:A', 'd:1', 'd:3', 'd:2']);
    expect(r).toMatchObject({ outOfOrder: 1, passed: false });
  });

  it('names the out-of-order deliveries, with their attempt when it was recorded', () => {
    const h = new History();
    for (const id of ['a', 'b', 'c']) {
      h.publish(id, 's', 'P');
      h.outcome(id, 'acknowledged');
    }
    h.deliver('a', 'group', 1);
    h.deliver('c', 'group', 1);
    h.deliver('b', 'group', 2);
    expect(h.check().outOfOrderDeliveries).toEqual([{ id: 'b', attempt: 2 }]);
  });

  it('order is per subject, per publisher and per consumer; a redelivery is a duplicate, not disorder', () => {
    const r = run([
      'p:1:s:A',
      'p:2:t:A', // another subject
      'p:3:s:B', // another publisher
      'd:2',
      'd:1',
      'd:3',
      'd:1', // redelivered after later ones: a duplicate
      'd:1:other', // another consumer starts its own order
    ]);
    expect(r).toMatchObject({ outOfOrder: 0, duplicates: 1 });
  });

  it('a delivery of a rejected publish is reported', () => {
    const r = run(['p:1:s:A:rejected', 'd:1']);
    expect(r.rejectedDelivered).toBe(1);
  });

  it('a delivery of an id nobody published is unexpected', () => {
    const r = run(['p:1:s:A', 'd:1', 'd:zzz']);
    expect(r.unexpected).toBe(1);
  });

  it('missing() counts acknowledged publishes not delivered yet', () => {
    const h = new History();
    h.publish('1', 's', 'A');
    h.outcome('1', 'acknowledged');
    h.publish('2', 's', 'A');
    expect(h.missing()).toBe(1);
    h.deliver('1');
    expect(h.missing()).toBe(0);
  });
});
