import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalNats } from '../src/index.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('local brokers', () => {
  it('NATS with a token: a client presenting it connects, one without it is refused', async () => {
    const server = await startLocalNats({ jetstream: false, token: 'faults-token-1f2e' });
    cleanups.push(() => server.dispose());
    const nc = await connect({ servers: server.url, token: 'faults-token-1f2e', timeout: 2_000 });
    cleanups.push(() => nc.close());
    expect(nc.isClosed()).toBe(false);
    await expect(connect({ servers: server.url, timeout: 2_000, reconnect: false })).rejects.toThrow();
    await expect(
      connect({ servers: server.url, token: 'wrong', timeout: 2_000, reconnect: false }),
    ).rejects.toThrow();
  });
});
