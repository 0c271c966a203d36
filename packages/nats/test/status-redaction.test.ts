import { connect } from '@nats-io/transport-node';
import { type BusStatus, createBus, silentLogger } from '@omnibus/core';
import { withBroker } from '@omnibus/testing';
import { describe, expect, it } from 'vitest';
import { NatsDriver } from '../src/nats-driver.js';
import { resolveNatsOptions } from '../src/options.js';

await withBroker('nats', (broker) => {
  describe('status details', () => {
    it('are redacted on their way to core and onStatus, whatever reports them (raw client errors included)', async () => {
      const nc = await connect({ servers: broker.url });
      const seen: BusStatus[] = [];
      const driver = await NatsDriver.create(nc, false, resolveNatsOptions({ logger: silentLogger }));
      // the driver reports to core only; core forwards each status once to onStatus
      const bus = createBus(driver, { logger: silentLogger, onStatus: (s) => seen.push(s) });
      // what the fan-out reports for a failed stream listing or attach: the client error's message as is
      const raw = new Error('request to nats://bob:hunter2@10.0.0.7:4222 failed (user bob:hunter2@10.0.0.7)');
      driver.report({ type: 'stream_discovery_failed', detail: raw.message });
      expect(seen).toHaveLength(1);
      expect(seen[0]?.type).toBe('stream_discovery_failed');
      expect(seen[0]?.detail).toContain('nats://***@10.0.0.7:4222');
      expect(JSON.stringify(seen)).not.toContain('hunter2');
      await bus.close();
      await nc.close();
    });
  });
});
