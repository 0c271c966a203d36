#!/usr/bin/env node
// `pnpm bench [--quick]`: builds the packages, runs each benchmark part in turn (memory, then
// NATS, Redis and Kafka: a part whose broker cannot be reached records a one-line skip), then
// the outbox part (PostgreSQL: OMNIBUS_PG_URL or the local `test` database), then
// writes docs/benchmarks.md with an SVG chart per backend (docs/bench/<name>.svg) from the
// parts' reports (reports/bench-<name>.json) and prints the table of every figure.
// The measuring is in packages/<name>/bench/<name>.bench.ts on the harness of this repository,
// @omnibus/bench-kit (suites/bench-kit, private; BenchPart: alternating rounds, medians, spread,
// progress line); the page is rendered by the same package. --quick (or BENCH_QUICK=1): fewer rounds and smaller counts, the smoke test CI
// runs. Exits 1 when a part failed (crashed, or ran past its time limit); no time is asserted.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick') || ['1', 'true'].includes(process.env.BENCH_QUICK ?? '');
const PARTS = [
  { name: 'memory', heading: 'Memory (in-process)' },
  { name: 'nats', heading: 'NATS JetStream' },
  { name: 'redis', heading: 'Redis Streams' },
  { name: 'kafka', heading: 'Kafka' },
  { name: 'rabbitmq', heading: 'RabbitMQ' },
  { name: 'outbox', heading: 'Outbox (PostgreSQL) on memory and NATS' },
];
const PART_LIMIT_MS = quick ? 180_000 : 900_000;
const reportDir = process.env.OMNIBUS_REPORT_DIR
  ? resolve(process.env.OMNIBUS_REPORT_DIR)
  : join(root, 'reports');
const started = performance.now();
const say = (line) => console.log(`::: bench: ${line}`);

say(`building the packages${quick ? ' (quick run)' : ''}`);
const build = spawnSync(
  join(root, 'node_modules', '.bin', 'turbo'),
  ['run', 'build', '--output-logs=errors-only', ...PARTS.map((p) => `--filter=@omnibus/${p.name}...`)],
  { cwd: root, stdio: 'inherit' },
);
if (build.status !== 0) {
  say('the build failed');
  process.exit(1);
}

/** Runs one part in its package (its own process), bounded by PART_LIMIT_MS; resolves with how it ended. */
function runPart(name) {
  const cwd = join(root, 'packages', name);
  const env = { ...process.env, BENCH_PARENT: '1', ...(quick ? { BENCH_QUICK: '1' } : {}) };
  const child = spawn(join(cwd, 'node_modules', '.bin', 'tsx'), [`bench/${name}.bench.ts`], {
    cwd,
    env,
    stdio: 'inherit',
  });
  return new Promise((resolveExit) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    }, PART_LIMIT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolveExit({ failed: `could not start: ${error.message}` });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) resolveExit({ failed: `stopped after its ${PART_LIMIT_MS / 1000} s limit` });
      else if (code !== 0) resolveExit({ failed: `exited with ${code ?? signal}` });
      else resolveExit({});
    });
  });
}

// --render: no measuring, the page and charts again from the reports of the last run
const renderOnly = process.argv.includes('--render');
const entries = [];
for (const [i, part] of PARTS.entries()) {
  const file = join(reportDir, `bench-${part.name}.json`);
  if (renderOnly) {
    entries.push({
      ...part,
      ...(existsSync(file) ? { report: JSON.parse(readFileSync(file, 'utf8')) } : { failed: 'no report' }),
    });
    continue;
  }
  say(`${part.name} (${i + 1}/${PARTS.length})`);
  const partStarted = Date.now();
  const outcome = await runPart(part.name);
  let report;
  if (!outcome.failed && existsSync(file)) {
    const read = JSON.parse(readFileSync(file, 'utf8'));
    if (Date.parse(read.generatedAt) >= partStarted - 1_000) report = read;
  }
  const failed = outcome.failed ?? (report ? undefined : 'it wrote no report');
  if (failed) say(`${part.name} FAILED: ${failed}`);
  entries.push({ ...part, report, failed });
}

const { benchTable, renderBenchChart, renderBenchPage } = await import(
  pathToFileURL(join(root, 'suites', 'bench-kit', 'dist', 'index.js')).href
);
const charts = join(root, 'docs', 'bench');
mkdirSync(charts, { recursive: true });
for (const entry of entries) {
  const svg = join(charts, `${entry.name}.svg`);
  if (entry.report && !entry.report.skipped) {
    writeFileSync(svg, renderBenchChart(entry.report));
    entry.chart = `bench/${entry.name}.svg`;
  } else {
    rmSync(svg, { force: true }); // no chart from an earlier run next to this run's page
  }
}

const rounds = entries.find((e) => e.report)?.report.rounds ?? (quick ? 3 : 5);

/**
 * The median of Omnibus in the first scenario of `part` whose name starts with `prefix`, and the
 * ratio to its peer named `peer` (default: its first peer).
 */
function figure(part, prefix, peer) {
  const report = entries.find((e) => e.name === part)?.report;
  const metric = report?.skipped ? undefined : report?.metrics.find((m) => m.scenario.startsWith(prefix));
  // 'fastest': the peer Omnibus compares worst with (for a rate, the fastest one)
  const against =
    peer === undefined
      ? metric?.peers[0]
      : peer === 'fastest'
        ? metric?.peers.reduce((worst, p) => (p.ratio < worst.ratio ? p : worst), metric.peers[0])
        : metric?.peers.find((p) => p.name === peer);
  return metric && against && { median: metric.omnibus.median, ratio: against.ratio };
}
const count = (n) => Math.round(n).toLocaleString('en-US');
// the performance issue's goals, checked on every run (quick runs use smaller counts: indicative only)
const target = (what, goal, [part, prefix, peer], measured, met) => {
  const f = figure(part, prefix, peer);
  return { what, goal, measured: f && measured(f), met: f && met(f) };
};
/**
 * A ratio goal: Omnibus's median over the peer's, at least `bound` (throughput) or, with
 * `atMost`, at most `bound` (latency); `against` names the peer in the goal's text.
 */
const ratioTarget = (what, against, source, bound, atMost = false) =>
  target(
    what,
    `${atMost ? '≤' : '≥'} ${bound}× ${against}`,
    source,
    (f) => `${f.ratio.toFixed(2)}×`,
    (f) => (atMost ? f.ratio <= bound : f.ratio >= bound),
  );
/** A rate goal: Omnibus's median (× `per`: deliveries per publish) at least `min` `unit`. */
const rateTarget = (what, source, min, per = 1, unit = 'msg/s') =>
  target(
    what,
    `≥ ${count(min)} ${unit}`,
    source,
    (f) => `${count(f.median * per)} ${unit}`,
    (f) => f.median * per >= min,
  );
const targets = [
  rateTarget(
    'memory: awaited publish → 1 consume handler',
    ['memory', 'awaited publish → 1 handler'],
    1_000_000,
  ),
  rateTarget(
    'memory: fan-out to 10 consume handlers',
    ['memory', 'awaited publish → 10 handlers'],
    3_000_000,
    10,
    'deliveries/s',
  ),
  // the raw-speed issue: memory 1→1 and for await
  rateTarget(
    'memory: awaited publish → 1 consume handler (raw-speed goal)',
    ['memory', 'awaited publish → 1 handler'],
    3_000_000,
  ),
  rateTarget('memory: for await over a subscription', ['memory', 'for await over a subscription'], 2_000_000),
  // Redis against raw ioredis storing the same fields (an id and the publish time per entry)
  ratioTarget(
    'Redis: pipelined publish',
    'raw ioredis with id + time fields',
    ['redis', 'publish (XADD), pipelined', 'raw client, id + time fields'],
    0.9,
  ),
  ratioTarget(
    'Redis: grouped consume with acks',
    'raw ioredis with id + time fields',
    ['redis', 'grouped consume', 'raw client, id + time fields'],
    0.9,
  ),
  ratioTarget(
    'Redis: publish → deliver p99 latency',
    'raw ioredis',
    ['redis', 'publish → deliver latency p99'],
    1.5,
    true,
  ),
  // Kafka against the fastest of the raw clients in the same run (kafkajs, confluent, platformatic)
  ratioTarget(
    'Kafka: batched publish',
    'the fastest raw client',
    ['kafka', 'publish, batched', 'fastest'],
    0.9,
  ),
  ratioTarget(
    'Kafka: grouped consume with commits',
    'the fastest raw client',
    ['kafka', 'grouped consume', 'fastest'],
    0.9,
  ),
  // the same two against the adapter's own client (what the adapter itself costs)
  ratioTarget(
    'Kafka: batched publish',
    'raw @confluentinc/kafka-javascript (its client)',
    ['kafka', 'publish, batched', 'raw @confluentinc/kafka-javascript'],
    0.9,
  ),
  ratioTarget(
    'Kafka: grouped consume with commits',
    'raw @confluentinc/kafka-javascript (its client)',
    ['kafka', 'grouped consume', 'raw @confluentinc/kafka-javascript'],
    0.9,
  ),
  ratioTarget('NATS: grouped consume with acks', 'the raw client', ['nats', 'grouped consume'], 0.9),
  ratioTarget(
    'NATS: publish → deliver p99 latency',
    'the raw client',
    ['nats', 'publish → deliver latency p99'],
    2,
    true,
  ),
  // RabbitMQ (its adapter's issue): consume and pipelined publish against rabbitmq-client
  ratioTarget('RabbitMQ: grouped consume with acks', 'the raw client', ['rabbitmq', 'grouped consume'], 0.9),
  ratioTarget(
    'RabbitMQ: pipelined publish with confirms',
    'the raw client',
    ['rabbitmq', 'publish with confirms, pipelined'],
    0.9,
  ),
  // at most once (the delivery-levels issue): each against its broker's fast path doing the same
  // work — every message carries an id and its publish time, as Omnibus's do
  ratioTarget(
    'NATS: at most once, publish → consume',
    'core NATS with id + time headers',
    ['nats', 'at most once', 'raw client, id + time headers'],
    0.9,
  ),
  ratioTarget(
    'Redis: at most once, publish → consume',
    'PUBLISH with id + time in the message',
    ['redis', 'at most once', 'raw client, id + time in the message'],
    0.9,
  ),
  ratioTarget(
    'Kafka: at most once, publish → consume',
    'kafkajs acks-0 sends',
    ['kafka', 'at most once', 'raw client'],
    0.9,
  ),
];
const page = renderBenchPage(entries, {
  command: quick ? 'pnpm bench --quick' : 'pnpm bench',
  targets,
  intro: [
    'What the abstraction costs: every scenario runs through Omnibus and through its baseline doing the same work in the same process and run — the raw client for NATS (`@nats-io/jetstream`), Redis (`ioredis`), Kafka (`@confluentinc/kafka-javascript`, the adapter’s client, beside the two others its client decision weighed: `kafkajs` — the rows named “raw client” — and `@platformatic/kafka`) and RabbitMQ (`rabbitmq-client`), in-process emitters for the memory bus (`node:events`, `eventemitter3`, `mitt`, `emittery`, an RxJS `Subject` per topic). Payloads are 256 bytes.',
    `Rounds alternate — Omnibus, peer, Omnibus, peer… — ${rounds} measured rounds per side in this run (\`pnpm bench\`: 5; \`pnpm bench --quick\`: 3, with smaller counts). Each figure is the **median** of the rounds, with the spread (min–max) beside it; **omnibus / peer** is the ratio of the medians. Throughput (msg/s: published, or consumed from a backlog; lookups/s) is better higher, so a ratio above 1 means Omnibus is faster; latency (publish → delivery, one message at a time; p50 and p99 of each round, ms) is better lower, so a ratio below 1 means Omnibus is faster. In the charts a bar is the median and the thin line spans min–max; each group has its own scale.`,
    '`pnpm bench` builds the packages and runs every part whose backend is available: memory always; NATS, Redis, Kafka and RabbitMQ at `NATS_URL`, `REDIS_URL`, `KAFKA_BROKERS`, `RABBITMQ_URL` or the local defaults (127.0.0.1:4222, :6379, :9092, :5672) — a part whose broker cannot be reached is skipped with its reason; the outbox part needs PostgreSQL at `OMNIBUS_PG_URL` or the local `test` database, and measures outbox + relay against a direct `bus.publish` on the memory bus and on NATS. One part alone: `pnpm --filter @omnibus/nats bench` (and so on; it writes its report, not this page). Counts can be set with `BENCH_ROUNDS`, `BENCH_MESSAGES`, `BENCH_AWAITED`, `BENCH_PIPELINED`, `BENCH_CONSUME`, `BENCH_LATENCY`. Every round is bounded in time. Reports with every round: `reports/bench-<name>.json`.',
  ],
});
writeFileSync(join(root, 'docs', 'benchmarks.md'), page);

const ran = entries.flatMap((e) => (e.report && !e.report.skipped ? [e.report] : []));
console.log(`\n${benchTable(ran, { backend: true }).join('\n')}\n`);
for (const e of entries) {
  if (e.report?.skipped) console.log(`${e.name}: skipped — ${e.report.skipped}`);
  else if (e.failed) console.log(`${e.name}: FAILED — ${e.failed}`);
}
const failures = entries.filter((e) => e.failed).length;
say(
  `wrote docs/benchmarks.md and docs/bench/*.svg in ${Math.round((performance.now() - started) / 1000)} s: ${ran.length} part(s) measured, ${entries.filter((e) => e.report?.skipped).length} skipped, ${failures} failed`,
);
process.exit(failures > 0 ? 1 : 0);
