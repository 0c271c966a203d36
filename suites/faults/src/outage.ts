// A full outage: the broker process stopped for 30 s under load, then started
// again. Publishers keep trying (a publish rejected after the adapter's publish
// timeout is counted as rejected, and the publisher goes on with its next
// message), a grouped consumer and an ungrouped subscriber wait; once the broker
// is back, both must recover by themselves and nothing acknowledged may be lost.
import { History } from './history.js';
import { describeRejections, startLoad } from './load.js';
import { type FaultRow, type Progress, row, waitDelivered } from './scenarios.js';
import type { Target } from './targets.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** How long the broker stays down (ms). */
export const OUTAGE_MS = 30_000;
const STEADY_MS = 5_000;
/** Longest wait, once the broker is back, for every publisher and consumer to move again (ms). */
const RECOVERY_LIMIT_MS = 60_000;
const PUBLISHERS = 10;

/**
 * Full outage under load: 10 publishers (each its own subject, one publish every
 * 20 ms at most), a grouped consumer and an ungrouped subscriber on a second bus;
 * after 5 s the broker is killed, stays down for 30 s and is started again; the
 * load goes on until every publisher and both consumers moved again, and 5 s more.
 * Recovery = from the broker being back to the last publisher's first acknowledged
 * publish; the consumers' first deliveries are reported too.
 */
export async function fullOutage(target: Target, progress: Progress): Promise<FaultRow> {
  const scenario = 'full outage (30 s)';
  const grouped = new History();
  const fanout = new History();
  if (!target.hasBroker) {
    return row(
      target,
      scenario,
      grouped.check(),
      null,
      'not applicable: the in-process bus has no broker to stop',
    );
  }
  let backAt = Number.POSITIVE_INFINITY;
  const firstAfterBack = { grouped: 0, fanout: 0 };
  const delivered = (which: 'grouped' | 'fanout', history: History) => (id: string) => {
    const now = Date.now();
    history.deliver(id, which);
    if (now >= backAt && firstAfterBack[which] === 0) firstAfterBack[which] = now;
  };
  const publisher = await target.createBus();
  const consumerBus = await target.createBus();
  const onGrouped = delivered('grouped', grouped);
  const onFanout = delivered('fanout', fanout);
  const groupConsumer = await consumerBus.consume('outage.*', (m) => onGrouped(m.id), { group: 'outage' });
  const fanoutConsumer = await consumerBus.consume('outage.*', (m) => onFanout(m.id));
  const load = startLoad({
    bus: publisher,
    histories: [grouped, fanout],
    prefix: 'outage',
    publishers: PUBLISHERS,
    intervalMs: 20,
  });
  const started = Date.now();
  let phase = 'steady load';
  const ticker = setInterval(
    () =>
      progress(
        `${target.backend} · ${scenario} · ${phase} · ${load.acknowledged.toLocaleString('en')} acknowledged, ${load.rejected} rejected`,
      ),
    500,
  );
  let stoppedAt = 0;
  let restartMs = 0;
  let recovered = false;
  try {
    await sleep(STEADY_MS);
    phase = 'broker down';
    await target.kill();
    stoppedAt = Date.now();
    const up = stoppedAt + OUTAGE_MS;
    while (Date.now() < up) {
      phase = `broker down, back in ${Math.ceil((up - Date.now()) / 1000)} s`;
      await sleep(Math.min(1_000, up - Date.now()));
    }
    phase = 'starting the broker';
    const t = Date.now();
    await target.start();
    backAt = Date.now();
    restartMs = backAt - t;
    phase = 'broker back, waiting for every publisher and consumer';
    const deadline = backAt + RECOVERY_LIMIT_MS;
    const moving = () =>
      load.firstAcksAfter(backAt).every((a) => a !== undefined) &&
      firstAfterBack.grouped > 0 &&
      firstAfterBack.fanout > 0;
    while (Date.now() < deadline && !moving()) await sleep(100);
    recovered = moving();
    phase = 'steady load after the outage';
    await sleep(STEADY_MS);
  } finally {
    await load.stop();
    clearInterval(ticker);
  }
  progress(`${target.backend} · ${scenario} · waiting for the consumers to catch up`);
  await waitDelivered(grouped, 90_000);
  await waitDelivered(fanout, 30_000);
  await fanoutConsumer.close().catch(() => undefined);
  await groupConsumer.close().catch(() => undefined);
  await consumerBus.close({ timeoutMs: 2_000 }).catch(() => undefined);
  await publisher.close({ timeoutMs: 2_000 }).catch(() => undefined);

  const g = grouped.check();
  const f = fanout.check();
  const acks = load.firstAcksAfter(backAt);
  const stalled = acks.filter((a) => a === undefined).length;
  const recoveryMs = stalled === 0 && acks.length > 0 ? Math.max(...(acks as number[])) - backAt : null;
  const again = (at: number) =>
    at > 0 ? `delivering again ${seconds(at - backAt)} after the broker was back` : 'never delivered again';
  const fanoutNote =
    f.lost > 0 || f.outOfOrder > 0
      ? `ungrouped subscriber: ${f.lost} lost, ${f.outOfOrder} out of order${f.lostIds.length > 0 ? ` (${f.lostIds.slice(0, 5).join(', ')})` : ''}`
      : `ungrouped subscriber: 0 lost, ${f.duplicates} duplicates`;
  const result = row(
    target,
    scenario,
    g,
    recoveryMs,
    [
      `broker down ${seconds(backAt - stoppedAt)} (start took ${seconds(restartMs)})`,
      stalled > 0
        ? `FAILED: ${stalled} of ${PUBLISHERS} publishers never acknowledged again`
        : `all ${PUBLISHERS} publishers acknowledged again within ${seconds(recoveryMs ?? 0)} of the broker being back`,
      `grouped consumer ${again(firstAfterBack.grouped)}`,
      `ungrouped subscriber ${again(firstAfterBack.fanout)}`,
      fanoutNote,
      g.rejectedDelivered > 0
        ? `${g.rejectedDelivered} rejected publishes delivered anyway (outcome unknown)`
        : '',
      load.rejected > 0 ? `rejections: ${describeRejections(load.rejections)}` : '',
      `ran ${seconds(Date.now() - started)}`,
    ]
      .filter(Boolean)
      .join('; '),
  );
  const fanoutOk = f.lost === 0 && f.outOfOrder === 0 && f.unexpected === 0;
  return { ...result, passed: result.passed && fanoutOk && recovered && stalled === 0 };
}

/** The scenario's paragraph for docs/reliability.md. */
export const outageDoc = `- **full outage (30 s)** — 10 publishers (each its own subject, one publish every 20 ms at
  most, awaited), a grouped consumer and an ungrouped subscriber on a second bus. After 5 s the
  broker is killed (SIGKILL) and stays down for 30 s while the publishers keep trying (a publish
  rejected after the adapter's publish timeout is counted as rejected and the publisher goes on
  with its next message) and the consumers wait; then it is started again on the same port and
  data. Nobody restarts a bus: every publisher must be acknowledged again and both consumers
  must deliver again by themselves, with 0 acknowledged publishes lost for either consumer.
  **Recovery** here is the time from the broker being back (its port open again) to the last
  publisher's first acknowledged publish; the consumers' first deliveries after it are in the
  notes. Not applicable to the memory bus (no broker).`;
