// Soak: a bounded run per backend (60 s or 200,000 messages, whichever comes
// first) sampling the process's RSS and event-loop delay. Passes when nothing
// acknowledged is lost, nothing is out of order, RSS growth stays within
// SOAK_RSS_GROWTH_LIMIT and the event loop's p99 delay within SOAK_LOOP_P99_LIMIT_MS.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as turn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type FaultRow, type Progress, row } from './scenarios.js';
import { SeqTracker } from './seq-tracker.js';
import type { Target } from './targets.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const MiB = 1024 * 1024;

/** Most RSS may grow from the end of the warm-up to the end of the run (after a full GC). */
export const SOAK_RSS_GROWTH_LIMIT = 128 * MiB;
/**
 * Most the memory the process retains (JavaScript heap + external memory, Buffers included,
 * after a full GC) may grow from the middle of the run to its end. A bus that kept what passed
 * through would retain about 100 MiB of payload more (a half's worth), where bounded structures
 * have levelled off. Measured on what is retained rather than on RSS: the allocator keeps its
 * high-water mark, so RSS after a late peak (a slow run builds its backlog later) looks like a
 * climb that is not one.
 */
export const SOAK_RETAINED_TREND_LIMIT = 32 * MiB;
/** Largest p99 event-loop delay accepted (ms). */
export const SOAK_LOOP_P99_LIMIT_MS = 200;

/** Soak figures, in the soak's row of reports/faults.json. */
export interface SoakFigures {
  readonly messages: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly payloadBytes: number;
  /** RSS after the warm-up, its peak during the run, and at the end after a full GC (MiB). */
  readonly rssStartMb: number;
  readonly rssPeakMb: number;
  readonly rssEndMb: number;
  /** Peak RSS over the first half of the run (after the warm-up), MiB. */
  readonly rssFirstHalfPeakMb: number;
  /** Heap + external memory after a full GC in the middle of the run and at its end (MiB): the trend. */
  readonly retainedMidMb: number;
  readonly retainedEndMb: number;
  /** Event-loop delay after the warm-up (\`monitorEventLoopDelay\`, ms), and how many samples it has. */
  readonly eventLoopSamples: number;
  readonly eventLoopP99Ms: number;
  readonly eventLoopMaxMs: number;
  /**
   * How late a 20 ms interval timer fired (ms, p99 and max): what a timer or a
   * socket of the application waits. \`monitorEventLoopDelay\` does not see a loop
   * kept busy by promise callbacks; this does.
   */
  readonly timerLagP99Ms: number;
  readonly timerLagMaxMs: number;
}

/** What the soak's verdict on memory and latency is, besides the history check. */
export function soakVerdict(
  f: Pick<
    SoakFigures,
    'rssStartMb' | 'rssEndMb' | 'retainedMidMb' | 'retainedEndMb' | 'eventLoopP99Ms' | 'timerLagP99Ms'
  >,
): string[] {
  const problems: string[] = [];
  const growth = (f.rssEndMb - f.rssStartMb) * MiB;
  if (growth > SOAK_RSS_GROWTH_LIMIT)
    problems.push(`RSS grew ${(growth / MiB).toFixed(1)} MiB (limit ${SOAK_RSS_GROWTH_LIMIT / MiB} MiB)`);
  const climb = (f.retainedEndMb - f.retainedMidMb) * MiB;
  if (climb > SOAK_RETAINED_TREND_LIMIT)
    problems.push(
      `memory still climbing: ${(climb / MiB).toFixed(1)} MiB more retained (heap + external, after a full GC) at the end than in the middle (limit ${SOAK_RETAINED_TREND_LIMIT / MiB} MiB)`,
    );
  if (f.eventLoopP99Ms > SOAK_LOOP_P99_LIMIT_MS)
    problems.push(`event-loop p99 ${f.eventLoopP99Ms} ms (limit ${SOAK_LOOP_P99_LIMIT_MS} ms)`);
  if (f.timerLagP99Ms > SOAK_LOOP_P99_LIMIT_MS)
    problems.push(`timer lag p99 ${f.timerLagP99Ms} ms (limit ${SOAK_LOOP_P99_LIMIT_MS} ms)`);
  return problems;
}

/** The `q` quantile (0…1) of `values` (sorted in place); 0 when empty. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.ceil(q * values.length) - 1)] as number;
}

/** What the process retains: JavaScript heap + external memory (Buffers included). */
function retained(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** A full garbage collection (`--expose-gc` switched on at run time), so that the end RSS is not garbage. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/**
 * Soak: `publishers` publishers send batches of 100 messages of 1 KiB, as fast
 * as the backend takes them, to a grouped consumer (the consumer may fall at most
 * `window` messages behind, so the broker's backlog stays bounded), until
 * `maxMessages` are sent or `maxMs` passed. RSS is sampled every 250 ms; RSS and
 * the event-loop delay histogram are reset after a warm-up (5 % of the messages).
 */
export async function soak(
  target: Target,
  progress: Progress,
  { maxMessages = 200_000, maxMs = 60_000, publishers = 4, window = 20_000 } = {},
): Promise<FaultRow & { soak: SoakFigures }> {
  const scenario = 'soak';
  const payloadBytes = 1024;
  const perPublisher = Math.ceil(maxMessages / publishers);
  const tracker = new SeqTracker(publishers, perPublisher);
  const publisher = await target.createBus();
  const consumerBus = await target.createBus();
  const consumer = await consumerBus.consume(
    'soak.*',
    (m) => {
      const dash = m.id.lastIndexOf('-');
      tracker.deliver(Number(m.id.slice(1, dash)), Number(m.id.slice(dash + 1)));
    },
    { group: 'soak', maxInFlight: 500 },
  );
  const payload = new Uint8Array(payloadBytes).fill(5);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const lags: number[] = [];
  let lagFrom = 0;
  const lagTimer = setInterval(() => {
    const now = performance.now();
    if (lagFrom > 0 && rssStart > 0) lags.push(Math.max(0, now - lagFrom - 20));
    lagFrom = now;
  }, 20);
  const warmUp = Math.floor(maxMessages / 20);
  let sent = 0;
  let rssStart = 0;
  let rssPeak = 0;
  let rssFirstHalfPeak = 0;
  /** Heap + external memory after a full GC, taken once when the run is half done. */
  let retainedMid: number | undefined;
  const started = Date.now();
  const deadline = started + maxMs;
  /** RSS now, into the peaks (every 250 ms and after every batch: a run of a second has few timer ticks). */
  const sampleRss = (): number => {
    const rss = process.memoryUsage.rss();
    if (rssStart > 0) rssPeak = Math.max(rssPeak, rss);
    if (rssStart > 0 && sent < maxMessages / 2 && Date.now() < started + maxMs / 2)
      rssFirstHalfPeak = Math.max(rssFirstHalfPeak, rss);
    return rss;
  };
  const sampler = setInterval(() => {
    const rss = sampleRss();
    const acked = tracker.acknowledged;
    progress(
      `${target.backend} · soak · ${acked.toLocaleString('en')}/${maxMessages.toLocaleString('en')} acknowledged, ${(acked - tracker.missing()).toLocaleString('en')} delivered, RSS ${(rss / MiB).toFixed(0)} MiB`,
    );
  }, 250);
  let ended = started;
  try {
    collectGarbage();
    loop.enable();
    await Promise.all(
      Array.from({ length: publishers }, async (_, p) => {
        for (let seq = 0; seq < perPublisher && Date.now() < deadline; ) {
          while (tracker.missing() > window && Date.now() < deadline) await sleep(5);
          const batch = [];
          for (let i = 0; i < 100 && seq < perPublisher; i++, seq++) {
            tracker.publish(p, seq);
            batch.push({ subject: `soak.p${p}`, payload, id: `p${p}-${seq}` });
          }
          try {
            await publisher.publishBatch(batch);
            for (const m of batch)
              tracker.outcome(p, Number(m.id.slice(m.id.lastIndexOf('-') + 1)), 'acknowledged');
          } catch {
            for (const m of batch)
              tracker.outcome(p, Number(m.id.slice(m.id.lastIndexOf('-') + 1)), 'rejected');
          }
          sent += batch.length;
          sampleRss();
          if (
            retainedMid === undefined &&
            rssStart > 0 &&
            (sent >= maxMessages / 2 || Date.now() >= started + maxMs / 2)
          ) {
            collectGarbage();
            retainedMid = retained();
          }
          await turn(); // as a service driven by I/O would: the event loop gets a turn between batches
          if (rssStart === 0 && sent >= warmUp) {
            rssStart = process.memoryUsage.rss();
            rssPeak = rssStart;
            loop.reset();
            lags.length = 0;
          }
        }
      }),
    );
    ended = Date.now();
    const drain = Date.now() + 60_000;
    while (tracker.missing() > 0 && Date.now() < drain) await sleep(100);
    await sleep(50); // a timer turn, so that a delay still pending is recorded
  } finally {
    loop.disable();
    clearInterval(sampler);
    clearInterval(lagTimer);
    await consumer.close().catch(() => undefined);
    await consumerBus.close({ timeoutMs: 2_000 }).catch(() => undefined);
    await publisher.close({ timeoutMs: 2_000 }).catch(() => undefined);
  }
  collectGarbage();
  const rssEnd = process.memoryUsage.rss();
  const retainedEnd = retained();
  const report = tracker.check();
  const seconds = (ended - started) / 1000;
  const round = (n: number) => Math.round(n * 10) / 10;
  const figures: SoakFigures = {
    messages: report.acknowledged,
    seconds: round(seconds),
    perSecond: Math.round(report.acknowledged / Math.max(seconds, 0.001)),
    payloadBytes,
    rssStartMb: round(rssStart / MiB),
    rssPeakMb: round(Math.max(rssPeak, rssEnd) / MiB),
    rssEndMb: round(rssEnd / MiB),
    rssFirstHalfPeakMb: round(rssFirstHalfPeak / MiB),
    // a run too short to reach its middle after the warm-up: the end stands in (no trend to see)
    retainedMidMb: round((retainedMid ?? retainedEnd) / MiB),
    retainedEndMb: round(retainedEnd / MiB),
    eventLoopSamples: loop.count,
    eventLoopP99Ms: round(loop.percentile(99) / 1e6),
    eventLoopMaxMs: round(loop.max / 1e6),
    timerLagP99Ms: round(quantile(lags, 0.99)),
    timerLagMaxMs: round(lags.length === 0 ? 0 : Math.max(...lags)),
  };
  const problems = soakVerdict(figures);
  const result = row(
    target,
    scenario,
    report,
    null,
    [
      `${figures.messages.toLocaleString('en')} messages of ${payloadBytes} B in ${figures.seconds} s (${figures.perSecond.toLocaleString('en')}/s)`,
      `RSS ${figures.rssStartMb} → peak ${figures.rssPeakMb} → end ${figures.rssEndMb} MiB`,
      `first-half peak ${figures.rssFirstHalfPeakMb} MiB`,
      `retained ${figures.retainedMidMb} MiB mid-run → ${figures.retainedEndMb} MiB at the end`,
      `event loop p99 ${figures.eventLoopP99Ms} ms, max ${figures.eventLoopMaxMs} ms (${figures.eventLoopSamples} samples)`,
      `timer lag p99 ${figures.timerLagP99Ms} ms, max ${figures.timerLagMaxMs} ms`,
      ...problems.map((p) => `FAILED: ${p}`),
    ].join('; '),
  );
  return { ...result, passed: result.passed && problems.length === 0, soak: figures };
}

/** The scenario's paragraph for docs/reliability.md. */
export const soakDoc = `- **soak** — 4 publishers send batches of 100 messages of 1 KiB as fast as the backend takes
  them (at most 20,000 ahead of the consumer, so the broker's backlog stays bounded; the event
  loop gets a turn between batches, as in a service driven by I/O) to a grouped consumer, until
  200,000 messages are sent or 60 s passed, whichever comes first. The process's RSS is sampled
  every 250 ms and after every batch (the memory bus's run lasts about a second), and its
  event-loop delay with \`perf_hooks.monitorEventLoopDelay\` (10 ms
  resolution), together with how late a 20 ms interval timer fires (the delay a timer or socket
  of the application sees; \`monitorEventLoopDelay\` misses a loop kept busy by promise
  callbacks). Both start counting after a warm-up (the first 5 % of the messages); the end RSS is
  taken once everything was delivered, after a full garbage collection. Passes with 0 lost, 0 out
  of order, memory bounded — the end RSS at most ${SOAK_RSS_GROWTH_LIMIT / MiB} MiB above the start, and what the
  process retains (JavaScript heap + external memory, after a full GC) at most ${SOAK_RETAINED_TREND_LIMIT / MiB} MiB more at
  the end than in the middle of the run: a full run moves about 200 MiB of payload, so a bus that
  kept what passed through would retain about 100 MiB more, while bounded structures (the memory
  bus remembers up to 100,000 publisher ids for dedupe) level off. The trend is not taken on RSS:
  the allocator keeps its high-water mark, so a slow run whose backlog peaks late looks like a
  climb — and a p99 of at most ${SOAK_LOOP_P99_LIMIT_MS} ms for both the
  event-loop delay and the timer lag (generous on purpose, on a 2-core machine that also runs the
  broker: the soak checks that the loop stays responsive; speed is for the benchmarks).`;
