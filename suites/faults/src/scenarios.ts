import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { manage } from '@omnibus/core';
import { History, type HistoryReport } from './history.js';
import type { Target } from './targets.js';

/** One row of reports/faults.json. */
export interface FaultRow {
  backend: string;
  scenario: string;
  published: number;
  acknowledged: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  /** Longest time from a fault to the next acknowledged publish (ms); null when not applicable. */
  recoveryMs: number | null;
  passed: boolean;
  /** What else the run saw (rejected publishes, peak memory, why not applicable). */
  note: string;
}

/** A row with no figures: a scenario that could not run (`passed` false) or does not apply (true). */
export function rowWithout(backend: string, scenario: string, passed: boolean, note: string): FaultRow {
  return {
    backend,
    scenario,
    published: 0,
    acknowledged: 0,
    lost: 0,
    duplicates: 0,
    outOfOrder: 0,
    recoveryMs: null,
    passed,
    note,
  };
}

/** Reports progress (a live line) while a scenario runs. */
export type Progress = (text: string) => void;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until every acknowledged publish was delivered, at most `limitMs`. */
export async function waitDelivered(history: History, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (history.missing() > 0 && Date.now() < deadline) await sleep(100);
}

/** A report row from a history check (`passed` also needs no unexpected deliveries). */
export function row(
  target: Pick<Target, 'backend'>,
  scenario: string,
  r: HistoryReport,
  recoveryMs: number | null,
  note: string,
): FaultRow {
  return {
    backend: target.backend,
    scenario,
    published: r.published,
    acknowledged: r.acknowledged,
    lost: r.lost,
    duplicates: r.duplicates,
    outOfOrder: r.outOfOrder,
    recoveryMs,
    passed: r.passed && r.unexpected === 0,
    note: [
      r.rejected > 0 ? `${r.rejected} publishes rejected (typed error, counted, not lost)` : '',
      r.unknown > 0 ? `${r.unknown} outcome unknown` : '',
      r.lost > 0 ? `lost: ${r.lostIds.join(', ')}` : '',
      r.outOfOrder > 0
        ? `out of order: ${r.outOfOrderDeliveries.map((d) => (d.attempt === undefined ? d.id : `${d.id}@${d.attempt}`)).join(', ')}`
        : '',
      r.unexpected > 0 ? `${r.unexpected} deliveries of ids never published` : '',
      note,
    ]
      .filter(Boolean)
      .join('; '),
  };
}

/**
 * Broker restart under load: `total` messages from `publishers` concurrent
 * publishers (each its own subject, awaited one by one), the broker killed
 * (SIGKILL) and started again at about one third and again at one half; a
 * grouped consumer must end with every acknowledged id.
 */
export async function restartUnderLoad(
  target: Target,
  progress: Progress,
  total = 10_000,
  publishers = 20,
): Promise<FaultRow> {
  const scenario = 'broker restart under load';
  const history = new History();
  const statuses: string[] = []; // the consumer's status events, for a failed run's diagnosis
  const publisher = await target.createBus();
  const consumerBus = await target.createBus({
    onStatus: (s) =>
      statuses.push(`${s.type}${s.connection ? ` (${s.connection})` : ''}${s.detail ? `: ${s.detail}` : ''}`),
  });
  const consumer = await consumerBus.consume('load.*', (m) => history.deliver(m.id, 'group', m.attempt), {
    group: 'faults',
    maxInFlight: 200,
  });
  const payload = new Uint8Array(128).fill(1);
  let acked = 0;
  let recoveryMs = 0;
  let faultAt: number | undefined;
  const restarts: Promise<void>[] = [];
  const thresholds = target.hasBroker ? [Math.floor(total / 3), Math.floor(total / 2)] : [];
  const maybeRestart = () => {
    if (thresholds.length === 0 || acked < (thresholds[0] as number)) return;
    thresholds.shift();
    restarts.push(
      (async () => {
        await target.kill();
        faultAt = Date.now(); // from here no publish can be acknowledged until the broker is back
        await sleep(500);
        await target.start();
      })(),
    );
  };
  const perPublisher = Math.ceil(total / publishers);
  const started = Date.now();
  let diagnosis = '';
  const ticker = setInterval(
    () =>
      progress(
        `${target.backend} · ${scenario} · ${acked.toLocaleString('en')}/${total.toLocaleString('en')} acknowledged`,
      ),
    500,
  );
  try {
    await Promise.all(
      Array.from({ length: publishers }, async (_, p) => {
        for (let i = 0; i < perPublisher; i++) {
          const id = `p${p}-${i}`;
          history.publish(id, `load.p${p}`, `p${p}`);
          try {
            await publisher.publish(`load.p${p}`, payload, { id });
            history.outcome(id, 'acknowledged');
            acked++;
            if (faultAt !== undefined) {
              recoveryMs = Math.max(recoveryMs, Date.now() - faultAt);
              faultAt = undefined;
            }
            maybeRestart();
          } catch {
            history.outcome(id, 'rejected');
          }
        }
      }),
    );
    await Promise.all(restarts);
    await waitDelivered(history, 90_000);
    // while the consumer still runs: where the missing messages are, as the group sees it
    if (history.missing() > 0 && target.hasBroker)
      diagnosis = await missingDiagnosis(target, 'faults', statuses).catch(() => '');
  } finally {
    clearInterval(ticker);
    await consumer.close().catch(() => undefined);
    await consumerBus.close({ timeoutMs: 2_000 }).catch(() => undefined);
    await publisher.close({ timeoutMs: 2_000 }).catch(() => undefined);
  }
  const note = target.hasBroker
    ? `broker killed twice (SIGKILL) and restarted; ran ${((Date.now() - started) / 1000).toFixed(1)} s${diagnosis}`
    : `no broker to restart (in-process): the same load without the fault; ran ${((Date.now() - started) / 1000).toFixed(1)} s`;
  return row(target, scenario, history.check(), target.hasBroker ? recoveryMs : null, note);
}

/**
 * A slow consumer behind a fast publisher: `total` messages published as fast
 * as the backend accepts them, handled at about 1 ms each with `maxInFlight` 10.
 * Nothing may be lost; the process's heap must stay bounded (reported).
 */
export async function slowConsumer(target: Target, progress: Progress, total = 5_000): Promise<FaultRow> {
  const scenario = 'slow consumer, fast publisher';
  const history = new History();
  const publisher = await target.createBus();
  const consumerBus = await target.createBus();
  const consumer = await consumerBus.consume(
    'slow.x',
    async (m) => {
      history.deliver(m.id, 'group', m.attempt);
      await sleep(1);
    },
    { group: 'slow', maxInFlight: 10 },
  );
  const payload = new Uint8Array(1024).fill(2);
  const heapBefore = process.memoryUsage().heapUsed;
  let peakHeap = heapBefore;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    progress(`${target.backend} · ${scenario} · ${(total - history.missing()).toLocaleString('en')} handled`);
  }, 250);
  let published = 0;
  try {
    for (let i = 0; i < total; i += 100) {
      const batch = Array.from({ length: Math.min(100, total - i) }, (_, j) => {
        const id = `s-${i + j}`;
        history.publish(id, 'slow.x', 'publisher');
        return { subject: 'slow.x', payload, id };
      });
      try {
        await publisher.publishBatch(batch);
        for (const m of batch) history.outcome(m.id, 'acknowledged');
        published += batch.length;
      } catch {
        for (const m of batch) history.outcome(m.id, 'rejected');
      }
    }
    await waitDelivered(history, 120_000);
  } finally {
    clearInterval(sampler);
    await consumer.close().catch(() => undefined);
    await consumerBus.close({ timeoutMs: 2_000 }).catch(() => undefined);
    await publisher.close({ timeoutMs: 2_000 }).catch(() => undefined);
  }
  const stats = publisher.stats();
  const growthMb = (peakHeap - heapBefore) / 1024 / 1024;
  const note = `heap grew at most ${growthMb.toFixed(1)} MB for ${((published * 1024) / 1024 / 1024).toFixed(1)} MB published${
    'dropped' in stats && stats.dropped ? `; dropped ${stats.dropped}` : ''
  }`;
  return row(target, scenario, history.check(), null, note);
}

/**
 * Consumer crash: `total` messages consumed by group members, each in a process
 * of its own that SIGKILLs itself after about `perMember` acks with messages
 * still unacked; a new member starts each time. Every message must be acked in
 * the end (duplicates counted). The memory bus lives in its application's
 * process: a crash takes the bus with it, so the scenario does not apply.
 */
export async function consumerCrash(
  target: Target,
  progress: Progress,
  total = 5_000,
  perMember = 1_000,
): Promise<FaultRow> {
  const scenario = 'consumer crash';
  const history = new History();
  if (!target.url) {
    return row(
      target,
      scenario,
      history.check(),
      null,
      'not applicable: the in-process bus dies with its process',
    );
  }
  const subject = 'crash.jobs';
  const group = 'crashers';
  const member = fileURLToPath(new URL('./member.ts', import.meta.url));
  let crashes = 0;
  let current: ChildProcess | undefined;
  /** The members' status events, in order: the last ones go into the note when messages are missing. */
  const statuses: string[] = [];
  const start = (stopAfter: number) =>
    new Promise<ChildProcess>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', member, target.url as string, subject, group, String(stopAfter)],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let buffered = '';
      child.stdout?.on('data', (chunk) => {
        buffered += String(chunk);
        let nl = buffered.indexOf('\n');
        while (nl >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line === 'ready') resolve(child);
          else if (line.startsWith('ack ')) history.deliver(line.slice(4), 'group');
          else if (line.startsWith('status ')) statuses.push(`member ${crashes + 1}: ${line.slice(7)}`);
          nl = buffered.indexOf('\n');
        }
      });
      child.once('exit', (code) => reject(new Error(`member exited (${code}) before it was ready`)));
    });
  const killOnExit = () => current?.kill('SIGKILL');
  process.once('exit', killOnExit);
  const started = Date.now();
  const ticker = setInterval(
    () =>
      progress(
        `${target.backend} · ${scenario} · ${total - history.missing()}/${total} acked, ${crashes} crashes`,
      ),
    500,
  );
  try {
    current = await start(perMember);
    const publisher = await target.createBus();
    const payload = new Uint8Array(64).fill(3);
    for (let i = 0; i < total; i += 100) {
      const batch = Array.from({ length: Math.min(100, total - i) }, (_, j) => {
        const id = `c-${i + j}`;
        history.publish(id, subject, 'publisher');
        return { subject, payload, id };
      });
      await publisher.publishBatch(batch);
      for (const m of batch) history.outcome(m.id, 'acknowledged');
    }
    await publisher.close({ timeoutMs: 2_000 });
    const deadline = Date.now() + 180_000;
    while (history.missing() > 0 && Date.now() < deadline) {
      if (current.exitCode !== null || current.signalCode !== null) {
        crashes++;
        // later members crash too, until the last one, which finishes the work
        current = await start(
          crashes < Math.ceil(total / perMember) - 1 ? perMember : Number.POSITIVE_INFINITY,
        );
      }
      await sleep(100);
    }
  } finally {
    clearInterval(ticker);
    current?.kill('SIGKILL');
    process.off('exit', killOnExit);
  }
  const report = history.check();
  const diagnosis = report.lost > 0 ? await missingDiagnosis(target, group, statuses) : '';
  // "lost" here: published and acknowledged, never acked by any member. Order is not part of the
  // verdict: a dead member's unacked messages are redelivered after its ack timeout, behind newer
  // ones (every broker but Kafka does so); the figure is reported.
  const reordered =
    report.outOfOrder > 0
      ? "; out of order = a dead member's messages redelivered after newer ones (reported, not a failure: order is promised for one live consumer)"
      : '';
  const result = row(
    target,
    scenario,
    report,
    null,
    `${crashes} members SIGKILLed with unacked messages; ran ${((Date.now() - started) / 1000).toFixed(1)} s${reordered}${diagnosis}`,
  );
  return { ...result, passed: report.lost === 0 && report.unexpected === 0 };
}

/**
 * Where missing messages may be, for a failed run's note: the group as the management API sees
 * it (members, pending, lag), its dead letters, and the members' last status events.
 */
async function missingDiagnosis(target: Target, group: string, statuses: readonly string[]): Promise<string> {
  const parts: string[] = [];
  try {
    const bus = await target.createBus();
    try {
      const management = manage(bus);
      const info = (await management.groups()).find((g) => g.group === group);
      parts.push(`group ${group}: ${info ? JSON.stringify({ ...info, patterns: undefined }) : 'not listed'}`);
      const dead = await management.deadLetters.list({ group, limit: 5 });
      parts.push(`dead letters of the group: ${dead.items.length}${dead.next ? '+' : ''}`);
    } finally {
      await bus.close({ timeoutMs: 2_000 }).catch(() => undefined);
    }
  } catch (error) {
    parts.push(`management unavailable: ${(error as Error)?.message ?? error}`);
  }
  parts.push(`last status events: ${statuses.slice(-12).join(' | ') || 'none'}`);
  return `; diagnosis: ${parts.join('; ')}`;
}
