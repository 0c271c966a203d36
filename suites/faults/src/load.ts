// A steady publishing load for the fault scenarios that run for a while (a
// connection fault, an outage): concurrent publishers, each its own subject,
// awaiting one publish at a time, every outcome recorded in the histories.
import type { EventBus } from '@omnibus/core';
import type { History } from './history.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Options of `startLoad`. */
export interface LoadOptions {
  /** The bus the publishers share. */
  readonly bus: EventBus;
  /** Every history that must see the publishes (one per consumer checked). */
  readonly histories: readonly History[];
  /** Subject prefix: publisher `p` publishes to `<prefix>.p<p>`. */
  readonly prefix: string;
  readonly publishers: number;
  /** Pause between two publishes of one publisher (ms). */
  readonly intervalMs: number;
  /** Pause after a rejected publish before the next one (ms, default 200). */
  readonly afterRejectMs?: number;
  readonly payloadBytes?: number;
}

/** A running load: counts so far, and `stop()` to end it. */
export interface Load {
  readonly acknowledged: number;
  readonly rejected: number;
  /** Why publishes were rejected (the error's code and first message) → how many. */
  readonly rejections: ReadonlyMap<string, number>;
  /** The first acknowledgement at or after `at` (epoch ms), if any yet. */
  firstAckAfter(at: number): number | undefined;
  /** Per publisher, the first acknowledgement at or after `at` (undefined: none yet). */
  firstAcksAfter(at: number): (number | undefined)[];
  /** Stops publishing; resolves once every publish in flight has its outcome. */
  stop(): Promise<void>;
}

/** Starts `publishers` publishers; each awaits its publish, then waits `intervalMs`. */
export function startLoad(options: LoadOptions): Load {
  const { bus, histories, prefix, publishers, intervalMs } = options;
  const payload = new Uint8Array(options.payloadBytes ?? 128).fill(7);
  const ackTimes: number[][] = Array.from({ length: publishers }, () => []);
  const rejections = new Map<string, number>();
  let acknowledged = 0;
  let rejected = 0;
  let stopped = false;
  const loops = Array.from({ length: publishers }, async (_, p) => {
    const subject = `${prefix}.p${p}`;
    for (let i = 0; !stopped; i++) {
      const id = `${prefix}-p${p}-${i}`;
      for (const h of histories) h.publish(id, subject, `p${p}`);
      try {
        await bus.publish(subject, payload, { id });
        for (const h of histories) h.outcome(id, 'acknowledged');
        acknowledged++;
        ackTimes[p]?.push(Date.now());
        await sleep(intervalMs);
      } catch (error) {
        for (const h of histories) h.outcome(id, 'rejected');
        rejected++;
        rejections.set(rejectionKey(error), (rejections.get(rejectionKey(error)) ?? 0) + 1);
        await sleep(options.afterRejectMs ?? 200);
      }
    }
  });
  return {
    get acknowledged() {
      return acknowledged;
    },
    get rejected() {
      return rejected;
    },
    rejections,
    firstAckAfter(at) {
      const firsts = this.firstAcksAfter(at).filter((t) => t !== undefined);
      return firsts.length === 0 ? undefined : Math.min(...firsts);
    },
    firstAcksAfter: (at) => ackTimes.map((times) => times.find((t) => t >= at)),
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/**
 * What a rejection says: the error's code and its message without the backend
 * prefix, subjects and ids (`PUBLISH_FAILED: publish to … failed: no acknowledgement …`).
 */
export function rejectionKey(error: unknown): string {
  const code = String((error as { code?: unknown })?.code ?? (error as Error)?.name ?? 'unknown');
  const message = String((error as Error)?.message ?? error)
    .replace(/^\[omnibus(:[a-z]+)?\] /, '')
    .replace(/"[^"]*"/g, '…')
    .replace(/\s+/g, ' ')
    .slice(0, 160);
  return `${code}: ${message}`;
}

/** `rejections` as `12 × PUBLISH_FAILED: …`, for a note. */
export function describeRejections(rejections: ReadonlyMap<string, number>): string {
  return [...rejections].map(([code, n]) => `${n} × ${code}`).join(', ');
}
