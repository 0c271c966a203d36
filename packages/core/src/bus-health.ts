import type { BusState } from './bus-state.js';
import type { ConnectionStatus } from './connection-status.js';
import type { BusDriver } from './driver.js';
import { type BusHealth, withTimeout } from './operability.js';
import { redact } from './redact.js';

/**
 * What `bus.health()` answers: not ok once the bus is closing; otherwise the driver's
 * `probe()` bounded by `timeoutMs` (with no probe, ok unless the connection is lost).
 */
export async function checkHealth(
  driver: BusDriver,
  state: BusState,
  status: ConnectionStatus,
  timeoutMs: number,
): Promise<BusHealth> {
  const base = { backend: driver.backend, state: state.phase, connectionLost: status.lost };
  if (!state.isOpen) return { ...base, ok: false, detail: `the bus is ${state.phase}` };
  // 0: the bus's own state, without a request to the broker (liveness)
  if (!driver.probe || timeoutMs === 0) return { ...base, ok: !status.lost };
  const started = performance.now();
  try {
    await withTimeout(driver.probe(), timeoutMs, `no answer within ${timeoutMs} ms`);
    return { ...base, ok: true, latencyMs: Math.round((performance.now() - started) * 1000) / 1000 };
  } catch (error) {
    return { ...base, ok: false, detail: redact(String((error as Error)?.message ?? error)) };
  }
}
