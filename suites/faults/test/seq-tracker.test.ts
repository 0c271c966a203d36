import { describe, expect, it } from 'vitest';
import { SeqTracker } from '../src/seq-tracker.js';

/** Publishes `count` messages of publisher `p` with the given outcome. */
function publish(
  t: SeqTracker,
  p: number,
  count: number,
  outcome: 'acknowledged' | 'rejected' = 'acknowledged',
) {
  for (let s = 0; s < count; s++) {
    t.publish(p, s);
    t.outcome(p, s, outcome);
  }
}

describe('SeqTracker', () => {
  it('a clean history passes', () => {
    const t = new SeqTracker(2, 10);
    publish(t, 0, 3);
    publish(t, 1, 2);
    for (const [p, s] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
      [0, 2],
    ] as const)
      t.deliver(p, s);
    expect(t.missing()).toBe(0);
    expect(t.check()).toMatchObject({
      published: 5,
      acknowledged: 5,
      delivered: 5,
      lost: 0,
      duplicates: 0,
      outOfOrder: 0,
      passed: true,
    });
  });

  it('counts an acknowledged message never delivered as lost, and names it', () => {
    const t = new SeqTracker(1, 10);
    publish(t, 0, 3);
    t.deliver(0, 0);
    t.deliver(0, 2);
    expect(t.missing()).toBe(1);
    expect(t.check()).toMatchObject({ lost: 1, lostIds: ['p0-1'], passed: false });
  });

  it('a delivery that arrives before its acknowledgement is not missing', () => {
    const t = new SeqTracker(1, 10);
    t.publish(0, 0);
    t.deliver(0, 0);
    t.outcome(0, 0, 'acknowledged');
    expect(t.missing()).toBe(0);
    expect(t.check().lost).toBe(0);
  });

  it('counts duplicates and does not hide them', () => {
    const t = new SeqTracker(1, 10);
    publish(t, 0, 2);
    t.deliver(0, 0);
    t.deliver(0, 0);
    t.deliver(0, 1);
    t.deliver(0, 0);
    expect(t.check()).toMatchObject({ duplicates: 2, delivered: 4, lost: 0, passed: true });
  });

  it('counts a first delivery after a later one of the same publisher as out of order, and fails', () => {
    const t = new SeqTracker(2, 10);
    publish(t, 0, 3);
    publish(t, 1, 1);
    t.deliver(0, 0);
    t.deliver(0, 2);
    t.deliver(1, 0); // another publisher: not a reorder
    t.deliver(0, 1);
    expect(t.check()).toMatchObject({ outOfOrder: 1, lost: 0, passed: false });
  });

  it('a redelivered duplicate does not count as out of order', () => {
    const t = new SeqTracker(1, 10);
    publish(t, 0, 2);
    t.deliver(0, 0);
    t.deliver(0, 1);
    t.deliver(0, 0);
    expect(t.check()).toMatchObject({ outOfOrder: 0, duplicates: 1 });
  });

  it('a rejected publish that never arrives is not lost; one that arrives is reported', () => {
    const t = new SeqTracker(1, 10);
    publish(t, 0, 2, 'rejected');
    t.deliver(0, 1);
    expect(t.check()).toMatchObject({ rejected: 2, lost: 0, rejectedDelivered: 1, passed: true });
  });

  it('a rejected publish delivered before its rejection is reported too', () => {
    const t = new SeqTracker(1, 10);
    t.publish(0, 0);
    t.deliver(0, 0);
    t.outcome(0, 0, 'rejected');
    expect(t.check().rejectedDelivered).toBe(1);
  });

  it('counts deliveries nobody published as unexpected, and outcomes only once', () => {
    const t = new SeqTracker(1, 4);
    publish(t, 0, 1);
    t.outcome(0, 0, 'acknowledged');
    t.deliver(0, 3); // never published
    t.deliver(5, 0); // no such publisher
    t.deliver(0, 99); // out of range
    expect(t.check()).toMatchObject({ acknowledged: 1, unexpected: 3, lost: 1 });
  });

  it('an outcome never recorded is unknown', () => {
    const t = new SeqTracker(1, 4);
    t.publish(0, 0);
    expect(t.check()).toMatchObject({ published: 1, unknown: 1, acknowledged: 0, lost: 0 });
  });

  it('refuses a publish it has no room for', () => {
    const t = new SeqTracker(1, 2);
    expect(() => t.publish(0, 2)).toThrow(RangeError);
    expect(() => t.publish(1, 0)).toThrow(RangeError);
  });
});
