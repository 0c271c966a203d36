// What the buses of a scenario reported through their status hook (`onStatus`),
// and whether a fault was reported as it should be: the connection `lost`, then
// `restored`.
import type { BusStatus } from '@omnibus/core';

/** One status report, stamped with when and on which bus it arrived. */
export interface StatusEntry {
  readonly at: number;
  readonly bus: string;
  readonly status: BusStatus;
}

/** When a fault was reported: loss, and recovery after it (epoch ms; undefined when not reported). */
export interface FaultReport {
  readonly lostAt: number | undefined;
  readonly restoredAt: number | undefined;
}

/** Collects the status reports of several buses. */
export class StatusLog {
  readonly entries: StatusEntry[] = [];

  /** The `onStatus` hook of the bus called `bus`. */
  hook(bus: string): (status: BusStatus) => void {
    return (status) => this.entries.push({ at: Date.now(), bus, status });
  }

  /**
   * The first `connection: 'lost'` of `bus` at or after `since`, and the first
   * `connection: 'restored'` after that loss.
   */
  fault(bus: string, since: number): FaultReport {
    let lostAt: number | undefined;
    for (const e of this.entries) {
      if (e.bus !== bus || e.at < since) continue;
      if (lostAt === undefined) {
        if (e.status.connection === 'lost') lostAt = e.at;
      } else if (e.status.connection === 'restored') {
        return { lostAt, restoredAt: e.at };
      }
    }
    return { lostAt, restoredAt: undefined };
  }

  /** Status types `bus` reported at or after `since`, each once, in order of first appearance. */
  types(bus: string, since: number): string[] {
    const seen = new Set<string>();
    for (const e of this.entries) if (e.bus === bus && e.at >= since) seen.add(e.status.type);
    return [...seen];
  }
}

/** A fault report as a phrase: `lost +0.2 s, restored +8.1 s` (times from `since`), or what is missing. */
export function describeFault(report: FaultReport, since: number, types: readonly string[]): string {
  const at = (t: number) => `+${((t - since) / 1000).toFixed(1)} s`;
  if (report.lostAt === undefined) {
    return `no 'lost' reported (status types seen: ${types.length > 0 ? types.join(', ') : 'none'})`;
  }
  if (report.restoredAt === undefined) return `lost ${at(report.lostAt)}, no 'restored' reported`;
  return `lost ${at(report.lostAt)}, restored ${at(report.restoredAt)}`;
}
