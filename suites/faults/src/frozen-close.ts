import { History } from './history.js';
import { type FaultRow, type Progress, row } from './scenarios.js';
import type { Target } from './targets.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `close({ timeoutMs })` of the scenario, and the slack over it that still counts as bounded. */
const CLOSE_TIMEOUT_MS = 2_000;
const CLOSE_SLACK_MS = 1_000;

/**
 * Close with the broker frozen: a publisher bus and a grouped consumer bus (one handler
 * in progress, messages in flight), then the broker is SIGSTOPped and both buses are
 * closed with `close({ timeoutMs: 2000 })`. Each close must resolve within the timeout
 * plus 1 s, whatever the broker does; the broker is thawed afterwards.
 */
export async function frozenClose(target: Target, progress: Progress): Promise<FaultRow> {
  const scenario = 'close with the broker frozen';
  if (!target.hasBroker)
    return row(target, scenario, new History().check(), null, 'not applicable: no broker to freeze');
  const publisher = await target.createBus();
  const consumerBus = await target.createBus();
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  await consumerBus.consume(
    'frozen.*',
    async () => {
      await held; // a handler still running when close starts
    },
    { group: 'faults-frozen', maxInFlight: 5 },
  );
  let acknowledged = 0;
  for (let i = 0; i < 20; i++) {
    await publisher.publish('frozen.a', String(i));
    acknowledged++;
  }
  await sleep(500);
  progress(`${target.backend} · ${scenario} · broker frozen, closing`);
  target.pause(true);
  const timings: string[] = [];
  let slowest = 0;
  try {
    for (const [name, bus] of [
      ['consumer', consumerBus],
      ['publisher', publisher],
    ] as const) {
      const started = performance.now();
      await bus.close({ timeoutMs: CLOSE_TIMEOUT_MS }).catch(() => undefined);
      const ms = performance.now() - started;
      slowest = Math.max(slowest, ms);
      timings.push(`${name} closed in ${(ms / 1000).toFixed(2)} s`);
    }
  } finally {
    target.pause(false);
    release();
  }
  const bounded = slowest <= CLOSE_TIMEOUT_MS + CLOSE_SLACK_MS;
  // what the consumer held is redelivered to the group later: only the bound is judged here
  return {
    backend: target.backend,
    scenario,
    published: acknowledged,
    acknowledged,
    lost: 0,
    duplicates: 0,
    outOfOrder: 0,
    recoveryMs: null,
    passed: bounded,
    note: `close({ timeoutMs: ${CLOSE_TIMEOUT_MS} }) with the broker SIGSTOPped: ${timings.join(', ')}${bounded ? '' : ` — over the ${(CLOSE_TIMEOUT_MS + CLOSE_SLACK_MS) / 1000} s bound`}`,
  };
}

/** The scenario's paragraph for docs/reliability.md. */
export const frozenCloseDoc = `- **close with the broker frozen** — a grouped consumer with a handler still running and
  messages in flight, and a publisher; the broker is frozen (SIGSTOP) and both buses are closed
  with \`close({ timeoutMs: 2000 })\`. Each close must resolve within 3 s (the timeout plus 1 s of
  slack), whatever the broker does: subscriptions, the drain, releases and the driver's
  disconnect share one deadline, and a driver still disconnecting goes on in the background.
  Figures are the two close times. Not applicable to the memory bus.`;
