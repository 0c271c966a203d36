import { describe, expect, it } from 'vitest';
import { isOutage } from '../src/nats-errors.js';

describe('which publish errors are retried until publishTimeoutMs', () => {
  it('a clustered stream between leaders (the client calls the "no responders" answer JetStreamNotEnabled)', () => {
    const electing = Object.assign(new Error('jetstream is not enabled'), { name: 'JetStreamNotEnabled' });
    expect(isOutage(electing)).toBe(true);
  });

  it('timeouts and lost connections', () => {
    expect(isOutage(Object.assign(new Error('timeout'), { name: 'TimeoutError' }))).toBe(true);
    expect(isOutage(new Error('connection closed'))).toBe(true);
  });

  it('not a refusal that a retry cannot change', () => {
    expect(isOutage(new Error('maximum payload exceeded'))).toBe(false);
    expect(isOutage(new Error('permissions violation for publish to "orders.x"'))).toBe(false);
  });
});
