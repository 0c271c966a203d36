import { describe, expect, it } from 'vitest';
import { createBus } from '../src/create-bus.js';
import type { BusDriver } from '../src/driver.js';
import type { BusStatus } from '../src/operability.js';
import { StatusRelay } from '../src/status-relay.js';
import { inProcessDriver } from './support/in-process-driver.js';

/** An in-process driver that reports what the test tells it to, the way adapters do: through a relay. */
function reportingDriver(): BusDriver & { report(status: BusStatus): void } {
  const relay = new StatusRelay();
  return { ...inProcessDriver(), setStatusListener: relay.listen, report: relay.report };
}

describe('status: one path, through core', () => {
  it("health(0) asks the backend nothing: the bus's own state and the losses it reported", async () => {
    let probes = 0;
    const driver = {
      ...reportingDriver(),
      probe: async () => {
        probes++;
      },
    };
    const bus = createBus(driver, { logger: { warn: () => undefined } });
    expect(await bus.health(0)).toEqual({
      backend: 'in-process',
      state: 'open',
      connectionLost: false,
      ok: true,
    });
    driver.report({ type: 'disconnect', connection: 'lost' });
    expect((await bus.health(0)).ok).toBe(false);
    expect(probes).toBe(0);
    expect((await bus.health()).latencyMs).toBeGreaterThanOrEqual(0);
    expect(probes).toBe(1);
    await bus.close();
  });

  it("calls the user's onStatus once per status the driver reports, and tracks the connection in one place", async () => {
    const driver = reportingDriver();
    const seen: BusStatus[] = [];
    const warnings: string[] = [];
    const bus = createBus(driver, {
      logger: { warn: (line) => warnings.push(line) },
      onStatus: (s) => seen.push(s),
    });
    driver.report({ type: 'disconnect', detail: 'socket closed', connection: 'lost' });
    expect(seen).toEqual([{ type: 'disconnect', detail: 'socket closed', connection: 'lost' }]);
    expect((await bus.health()).connectionLost).toBe(true);
    expect((await bus.health()).ok).toBe(false);
    // a second loss while lost is passed on, but is no new loss
    driver.report({ type: 'disconnect', connection: 'lost' });
    driver.report({ type: 'ping_late' });
    driver.report({ type: 'reconnect', connection: 'restored' });
    expect(seen.map((s) => s.type)).toEqual(['disconnect', 'disconnect', 'ping_late', 'reconnect']);
    expect((await bus.health()).connectionLost).toBe(false);
    expect((await bus.health()).ok).toBe(true);
    expect(warnings).toEqual([
      '[omnibus:in-process] connection lost: socket closed; reconnecting',
      '[omnibus:in-process] connection restored',
    ]);
    await bus.close();
  });

  it('passes on what a driver reported before the bus listened, in order, and survives a throwing onStatus', async () => {
    const driver = reportingDriver();
    driver.report({ type: 'client_error', detail: 'first try refused' });
    driver.report({ type: 'disconnect', connection: 'lost' });
    const seen: string[] = [];
    const bus = createBus(driver, {
      logger: { warn() {} },
      onStatus: (s) => {
        seen.push(s.type);
        throw new Error('listener bug');
      },
    });
    expect(seen).toEqual(['client_error', 'disconnect']);
    expect((await bus.health()).connectionLost).toBe(true);
    driver.report({ type: 'reconnect', connection: 'restored' });
    expect(seen).toEqual(['client_error', 'disconnect', 'reconnect']);
    await bus.publish('still.works', 'x');
    await bus.close();
  });

  it("reports the bus's own statuses (dead-lettering failing, working again) through the same path", async () => {
    const seen: string[] = [];
    let refuse = true;
    const bus = createBus(inProcessDriver(), { logger: { warn() {} }, onStatus: (s) => seen.push(s.type) });
    await bus.consume('jobs.s', (m) => m.term('poison'), {
      backoff: () => 10,
      deadLetter: (subject) => (refuse ? 'not a subject' : `dlq.${subject}`),
    });
    await bus.publish('jobs.s', 'x');
    for (let i = 0; i < 200 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    refuse = false;
    for (let i = 0; i < 400 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    expect(seen).toEqual(['dead_letter_failed', 'dead_letter_restored']);
    await bus.close();
  });
});
