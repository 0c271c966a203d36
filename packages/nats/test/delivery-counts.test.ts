import { describe, expect, it } from 'vitest';
import { DeliveryCounts } from '../src/delivery-counts.js';

// nats-server before 2.10.14 can send a message twice after a failed delivery of a redelivery,
// the second copy counting from 1 again (seen by the model test: attempts 1, 2, 1)
describe('DeliveryCounts', () => {
  it('a second copy of a held message is dropped, whatever its count', () => {
    const counts = new DeliveryCounts(true);
    expect(counts.arrived(7, 1)).toEqual({ kind: 'deliver', deliveryCount: 1 });
    expect(counts.arrived(7, 1)).toEqual({ kind: 'drop' });
    expect(counts.arrived(7, 3)).toEqual({ kind: 'drop' });
  });

  it("a nakked message's next copy is the next attempt by this loop's count (copies nobody saw are not attempts)", () => {
    const counts = new DeliveryCounts(true);
    counts.arrived(7, 1);
    counts.nakked(7);
    expect(counts.arrived(7, 2)).toEqual({ kind: 'deliver', deliveryCount: 2 });
    counts.nakked(7);
    // the server counted a copy that went to a pull request nobody listened to
    expect(counts.arrived(7, 4)).toEqual({ kind: 'deliver', deliveryCount: 3 });
    expect(counts.arrived(7, 1)).toEqual({ kind: 'drop' }); // and its count-from-1 twin
  });

  it("on a group's shared consumer a nakked message's next copy takes the server's count (other members saw the copies between), never going back", () => {
    const counts = new DeliveryCounts(false);
    counts.arrived(7, 1);
    counts.nakked(7);
    expect(counts.arrived(7, 3)).toEqual({ kind: 'deliver', deliveryCount: 3 }); // a member had the 2nd
    counts.nakked(7);
    expect(counts.arrived(7, 1)).toEqual({ kind: 'deliver', deliveryCount: 4 }); // the server counted from 1 again
  });

  it('a copy of a settled message is acked and not handed out', () => {
    const counts = new DeliveryCounts(true);
    counts.arrived(7, 1);
    counts.settled(7);
    expect(counts.arrived(7, 1)).toEqual({ kind: 'ack' });
    expect(counts.arrived(7, 2)).toEqual({ kind: 'ack' });
  });

  it("a message first seen here takes the server's count (redelivered after another member crashed)", () => {
    expect(new DeliveryCounts(true).arrived(9, 3)).toEqual({ kind: 'deliver', deliveryCount: 3 });
  });

  it('remembers at most 4,096 settled messages, the oldest forgotten first; held ones are kept', () => {
    const counts = new DeliveryCounts(true);
    counts.arrived(0, 1); // held throughout
    for (let seq = 1; seq <= 5_000; seq++) {
      counts.arrived(seq, 1);
      counts.settled(seq);
    }
    expect(counts.arrived(0, 2)).toEqual({ kind: 'drop' });
    expect(counts.arrived(5_000, 1)).toEqual({ kind: 'ack' });
    expect(counts.arrived(905, 1)).toEqual({ kind: 'ack' });
    expect(counts.arrived(904, 2)).toEqual({ kind: 'deliver', deliveryCount: 2 }); // forgotten
  });
});
