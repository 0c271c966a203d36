import { randomBytes } from 'node:crypto';
import type { CommandContext } from '../context.js';
import { CommandError, EXIT } from '../errors.js';
import { duration, table } from '../format.js';

/** Options of `omnibus bench`. */
export interface BenchOptions {
  count?: number;
  size?: number;
  /** Publishes in flight at once. */
  concurrency?: number;
  subject?: string;
  /** Give up waiting for deliveries after this long, ms. */
  timeout?: number;
  json?: boolean;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/**
 * `omnibus bench`: publishes `count` messages of `size` bytes to a fresh subject with
 * `concurrency` publishes in flight, consumes them with one ungrouped subscription, and
 * reports publish and end-to-end rates and delivery latency. A short sanity measurement of the
 * configured backend from where the CLI runs, not a benchmark suite (see `pnpm bench`).
 */
export async function bench(ctx: CommandContext, options: BenchOptions): Promise<number> {
  const count = options.count ?? 1_000;
  const size = options.size ?? 128;
  const concurrency = options.concurrency ?? 64;
  const timeoutMs = options.timeout ?? 30_000;
  const subject = `${options.subject ?? 'omnibus.bench'}.${randomBytes(4).toString('hex')}`;
  const bus = await ctx.bus();
  ctx.handlesInterrupt = true;
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  let received = 0;
  let lastReceived = 0;
  let allReceived!: () => void;
  const everything = new Promise<void>((resolve) => {
    allReceived = resolve;
  });
  const consumer = await bus.consume(
    subject,
    (m) => {
      const at = performance.now();
      const start = sent.get(m.id);
      if (start === undefined) return;
      sent.delete(m.id);
      latencies.push(at - start);
      received++;
      lastReceived = at;
      if (received === count) allReceived();
    },
    { maxInFlight: 1_000 },
  );
  const payload = randomBytes(size);
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count && !ctx.signal.aborted) {
      const id = `bench-${next++}-${randomBytes(4).toString('hex')}`;
      sent.set(id, performance.now());
      await bus.publish(subject, payload, { id });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const published = performance.now();
  const publishedCount = Math.min(next, count);
  let timer: NodeJS.Timeout | undefined;
  const stop = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  if (publishedCount === count) await Promise.race([everything, stop]);
  clearTimeout(timer);
  await consumer.close();
  const sorted = latencies.sort((a, b) => a - b);
  const publishSeconds = (published - started) / 1000;
  const endToEndSeconds = ((lastReceived || published) - started) / 1000;
  const result = {
    backend: bus.backend,
    subject,
    count,
    size,
    concurrency,
    published: publishedCount,
    received,
    publishPerSecond: Math.round(publishedCount / publishSeconds),
    endToEndPerSecond: Math.round(received / endToEndSeconds),
    latencyMs: {
      p50: Number(percentile(sorted, 50).toFixed(2)),
      p95: Number(percentile(sorted, 95).toFixed(2)),
      p99: Number(percentile(sorted, 99).toFixed(2)),
      max: Number(percentile(sorted, 100).toFixed(2)),
    },
  };
  if (options.json) ctx.out.line(JSON.stringify(result));
  else {
    const { c } = ctx.out;
    ctx.out.line(
      `${bus.backend}: ${result.published} published, ${result.received} received, ${size} bytes each, ${concurrency} publishes in flight (${subject})`,
    );
    const rows: [string, string][] = [
      ['publish', `${result.publishPerSecond} msg/s (${duration(published - started)})`],
      ['publish → receive', `${result.endToEndPerSecond} msg/s`],
      ['latency p50', `${result.latencyMs.p50} ms`],
      ['latency p95', `${result.latencyMs.p95} ms`],
      ['latency p99', `${result.latencyMs.p99} ms`],
      ['latency max', `${result.latencyMs.max} ms`],
    ];
    for (const line of table(
      rows,
      [
        { header: 'MEASURE', cell: (r) => r[0] },
        { header: 'VALUE', cell: (r) => r[1] },
      ],
      c,
    ))
      ctx.out.line(line);
  }
  if (ctx.signal.aborted) return EXIT.interrupted;
  if (received < count)
    throw new CommandError(
      `only ${received} of ${count} messages arrived within ${duration(timeoutMs)} (raise --timeout, or check the consumer side of the backend)`,
    );
  return EXIT.ok;
}
