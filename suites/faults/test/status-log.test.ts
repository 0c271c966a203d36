import { describe, expect, it, vi } from 'vitest';
import { describeFault, StatusLog } from '../src/status-log.js';

describe('StatusLog', () => {
  it('finds the first loss at or after the fault and the recovery after it, per bus', () => {
    vi.useFakeTimers({ now: 1_000 });
    const log = new StatusLog();
    const a = log.hook('a');
    const b = log.hook('b');
    a({ type: 'reconnecting', connection: 'lost' }); // before the fault: ignored
    a({ type: 'reconnected', connection: 'restored' });
    vi.setSystemTime(2_000);
    a({ type: 'ping' });
    b({ type: 'reconnected', connection: 'restored' }); // a recovery without a loss first: ignored
    vi.setSystemTime(2_500);
    a({ type: 'disconnect', connection: 'lost' });
    b({ type: 'disconnect', connection: 'lost' });
    vi.setSystemTime(4_000);
    a({ type: 'reconnect', connection: 'restored' });
    vi.useRealTimers();
    expect(log.fault('a', 2_000)).toEqual({ lostAt: 2_500, restoredAt: 4_000 });
    expect(log.fault('b', 2_000)).toEqual({ lostAt: 2_500, restoredAt: undefined });
    expect(log.fault('c', 0)).toEqual({ lostAt: undefined, restoredAt: undefined });
    expect(log.types('a', 2_000)).toEqual(['ping', 'disconnect', 'reconnect']);
  });

  it('describes what was reported, and what was not', () => {
    expect(describeFault({ lostAt: 1_200, restoredAt: 9_100 }, 1_000, [])).toBe(
      'lost +0.2 s, restored +8.1 s',
    );
    expect(describeFault({ lostAt: 1_200, restoredAt: undefined }, 1_000, [])).toBe(
      "lost +0.2 s, no 'restored' reported",
    );
    expect(
      describeFault({ lostAt: undefined, restoredAt: undefined }, 0, ['read_failed', 'reconnecting']),
    ).toBe("no 'lost' reported (status types seen: read_failed, reconnecting)");
    expect(describeFault({ lostAt: undefined, restoredAt: undefined }, 0, [])).toContain('seen: none');
  });
});
