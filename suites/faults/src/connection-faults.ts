// Connection faults under a light load: the bus's connections killed (Redis
// `CLIENT KILL` from an admin connection; NATS and Kafka have no such command,
// so the broker process is restarted), and a network pause (the broker
// SIGSTOPped for longer than the client's timeouts, then SIGCONTed). Each bus
// must report the fault through its status hook — `connection: 'lost'`, then
// `'restored'` — and recover without a restart of the application: every
// acknowledged publish delivered, in order.
import { History } from './history.js';
import { describeRejections, startLoad } from './load.js';
import { type FaultRow, type Progress, row, waitDelivered } from './scenarios.js';
import { describeFault, StatusLog } from './status-log.js';
import type { Target } from './targets.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Load before the fault, and after the buses said they recovered (ms). */
const STEADY_MS = 2_000;
/** Longest wait for `restored` once the fault is over (ms). */
const RESTORE_LIMIT_MS = 45_000;
/** How long after the fault a bus may still report the loss (ms). */
const LOSS_GRACE_MS = 10_000;
const BUSES = ['publisher', 'consumer'] as const;

/** One connection fault: what it does, and when it is over (epoch ms). */
type Fault = (target: Target) => Promise<{ endedAt: number; note: string }>;

/** Runs `fault` under a light load and checks what the buses reported and delivered. */
async function underLightLoad(
  target: Target,
  progress: Progress,
  scenario: string,
  prefix: string,
  fault: Fault,
): Promise<FaultRow> {
  const history = new History();
  if (!target.hasBroker) {
    return row(
      target,
      scenario,
      history.check(),
      null,
      'not applicable: the in-process bus has no connection',
    );
  }
  const log = new StatusLog();
  const publisher = await target.createBus({ onStatus: log.hook('publisher') });
  const consumerBus = await target.createBus({ onStatus: log.hook('consumer') });
  const consumer = await consumerBus.consume(`${prefix}.*`, (m) => history.deliver(m.id, 'group'), {
    group: 'faults',
  });
  const load = startLoad({ bus: publisher, histories: [history], prefix, publishers: 2, intervalMs: 50 });
  const started = Date.now();
  let phase = 'steady load';
  const ticker = setInterval(
    () =>
      progress(
        `${target.backend} · ${scenario} · ${phase} · ${load.acknowledged} acknowledged, ${load.rejected} rejected`,
      ),
    500,
  );
  let faultAt = 0;
  let ended = { endedAt: 0, note: '' };
  try {
    await sleep(STEADY_MS);
    faultAt = Date.now();
    phase = `${scenario} in progress`;
    ended = await fault(target);
    phase = 'waiting for restored';
    // wait for every bus's 'restored'; a bus that has not even reported 'lost' by
    // LOSS_GRACE_MS after the fault is not waited for any longer
    const waiting = () =>
      BUSES.some((bus) => {
        const r = log.fault(bus, faultAt);
        if (r.restoredAt !== undefined) return false;
        return r.lostAt !== undefined || Date.now() < ended.endedAt + LOSS_GRACE_MS;
      });
    const deadline = ended.endedAt + RESTORE_LIMIT_MS;
    while (Date.now() < deadline && waiting()) await sleep(100);
    phase = 'steady load after the fault';
    await sleep(STEADY_MS);
  } finally {
    await load.stop();
    clearInterval(ticker);
  }
  await waitDelivered(history, 30_000);
  await consumer.close().catch(() => undefined);
  await consumerBus.close({ timeoutMs: 2_000 }).catch(() => undefined);
  await publisher.close({ timeoutMs: 2_000 }).catch(() => undefined);

  const reports = BUSES.map((bus) => ({ bus, report: log.fault(bus, faultAt) }));
  const reported = reports.every((r) => r.report.lostAt !== undefined && r.report.restoredAt !== undefined);
  const firstAck = load.firstAckAfter(ended.endedAt);
  const statusNote = reports
    .map((r) => `${r.bus} bus: ${describeFault(r.report, faultAt, log.types(r.bus, faultAt))}`)
    .join('; ');
  const result = row(
    target,
    scenario,
    history.check(),
    firstAck === undefined ? null : firstAck - ended.endedAt,
    [
      ended.note,
      statusNote,
      reported ? '' : "FAILED: the status hook did not report the fault as 'lost' then 'restored'",
      load.rejected > 0 ? `rejections: ${describeRejections(load.rejections)}` : '',
      firstAck === undefined ? 'FAILED: no publish acknowledged after the fault' : '',
      `ran ${((Date.now() - started) / 1000).toFixed(1)} s`,
    ]
      .filter(Boolean)
      .join('; '),
  );
  return { ...result, passed: result.passed && reported && firstAck !== undefined };
}

/**
 * Connection killed: Redis drops the bus's connections (`CLIENT KILL TYPE normal`
 * and `TYPE pubsub` from an admin connection); NATS and Kafka, which have no such
 * command, by a restart of the broker process (SIGKILL, started again at once).
 */
export function connectionKilled(target: Target, progress: Progress): Promise<FaultRow> {
  return underLightLoad(target, progress, 'connection killed', 'connkill', async (t) => {
    if (t.killConnections) {
      const killed = await t.killConnections();
      const how =
        t.backend === 'rabbitmq' ? 'rabbitmqctl close_all_connections closed' : 'CLIENT KILL dropped';
      return { endedAt: Date.now(), note: `${how} ${killed} connections` };
    }
    await t.kill();
    await t.start();
    return { endedAt: Date.now(), note: 'broker process restarted (SIGKILL, started again)' };
  });
}

/** Network pause: the broker SIGSTOPped for longer than the client's timeouts, then SIGCONTed. */
export function networkPause(target: Target, progress: Progress): Promise<FaultRow> {
  return underLightLoad(target, progress, 'network pause', 'netpause', async (t) => {
    t.pause(true);
    try {
      await sleep(t.pauseMs);
    } finally {
      t.pause(false);
    }
    return {
      endedAt: Date.now(),
      note: `broker SIGSTOPped ${t.pauseMs / 1000} s (client timeouts: ${t.clientTimeouts})`,
    };
  });
}

/** The scenarios' paragraphs for docs/reliability.md. */
export const connectionFaultsDoc = `- **connection killed** — a light load (2 publishers, one publish every 50 ms each) and a
  grouped consumer on a second bus; Redis drops the buses' connections from its side
  (\`CLIENT KILL TYPE normal\` and \`TYPE pubsub\` from an admin connection), RabbitMQ closes them
  with \`rabbitmqctl close_all_connections\`, NATS and Kafka, which
  have no such command, have their broker process restarted (SIGKILL, started again at once).
  Both buses must report the fault through their status hook (\`onStatus\`: \`connection: 'lost'\`,
  then \`'restored'\`) and carry on without a restart of the application: every acknowledged
  publish delivered, in order, and publishes acknowledged again. **Recovery** here is the time
  from the end of the fault to the next acknowledged publish. Not applicable to the memory bus
  (no connection).
- **network pause** — the same load; the broker is frozen (SIGSTOP: sockets stay open, nothing
  answers) for longer than the client timeouts that could notice it, then thawed (SIGCONT):
  8 s for NATS (the suite's buses ping every second and give up after 2 unanswered pings),
  10 s for Redis (a blocking read is abandoned after 6 s), 35 s for Kafka (librdkafka requests
  time out after 30 s), 10 s for RabbitMQ (the bus probes the broker every second and counts it lost
  after 3 s without an answer). The same checks as above; recovery is counted from the SIGCONT.`;
