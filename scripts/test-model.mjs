#!/usr/bin/env node
// The model-based test of the contract (packages/*/test/model.test.ts) on its own, with a chosen
// budget: `pnpm test:model --runs 10000 --backend memory` soaks; `--seed S --path P` replays a
// failure (the failing run prints the exact command). CI runs the same files with their fixed
// budgets inside `pnpm test`. Brokers come from NATS_URL / REDIS_URL / KAFKA_BROKERS / RABBITMQ_URL (or Docker).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    concurrency: { type: 'string' },
    'time-limit': { type: 'string' },
    backend: { type: 'string', multiple: true },
    seed: { type: 'string' },
    path: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(
    'usage: pnpm test:model [--runs N] [--concurrency K] [--time-limit MINUTES] [--backend memory|nats|redis|kafka|rabbitmq ...] [--seed S --path P]',
  );
  process.exit(0);
}
const all = ['memory', 'nats', 'redis', 'kafka', 'rabbitmq'];
const backends = (values.backend ?? all).flatMap((b) => b.split(','));
for (const b of backends) {
  if (!all.includes(b)) {
    console.error(`unknown backend "${b}" (one of ${all.join(', ')})`);
    process.exit(2);
  }
}
const env = { ...process.env };
if (values.runs) {
  env.OMNIBUS_MODEL_RUNS = values.runs;
  env.OMNIBUS_MODEL_REPORT_FILE = 'model-soak.json'; // CI's fixed-budget figures stay in model.json
}
// K histories at once (runner i draws from seed + i; a failure prints its runner's seed)
if (values.concurrency) env.OMNIBUS_MODEL_CONCURRENCY = values.concurrency;
// a soak bounded in time: no new histories after it (the report says `interrupted`, with the count run)
if (values['time-limit'])
  env.OMNIBUS_MODEL_TIME_LIMIT_MS = String(Math.round(Number(values['time-limit']) * 60_000));
// a soak explores: a new seed unless one is given (the test files fix one for CI). A replay
// command printed by a failure sets OMNIBUS_MODEL_SEED / OMNIBUS_MODEL_PATH: they are kept.
env.OMNIBUS_MODEL_SEED =
  values.seed ?? process.env.OMNIBUS_MODEL_SEED ?? String(Math.floor(Math.random() * 2 ** 31));
if (values.path) env.OMNIBUS_MODEL_PATH = values.path;
// librdkafka's fetches each hold a thread of libuv's pool: several runners' Kafka consumers need
// more than its 4 threads, as a service with several subscriptions does (packages/kafka/README.md)
env.UV_THREADPOOL_SIZE ??= '64';

const run = (cmd, args, cwd) => spawnSync(cmd, args, { cwd, env, stdio: 'inherit' }).status ?? 1;
if (
  run('npx', ['turbo', 'run', 'build', '--filter=@omnibus/testing...', '--output-logs=errors-only'], root) !==
  0
)
  process.exit(1);
let failed = 0;
for (const b of backends) {
  const status = run('npx', ['vitest', 'run', 'test/model.test.ts'], join(root, 'packages', b));
  if (status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
