// `pnpm test:faults`: src/run.ts in lanes, so that the suite's waiting (brokers down for 30 s,
// JVMs starting, rebalances) overlaps. Kafka's scenarios run in one process, the other backends'
// in another, at the same time; then the soaks alone, one backend after the other (they judge
// the event loop and memory, which another process's work would disturb); then the clusters;
// then one report of the four parts (reports/faults.json, docs/reliability.md). Each lane is a
// process of its own: a lane's load never shares an event loop with another's measurements.
// With OMNIBUS_FAULTS_BACKENDS or OMNIBUS_FAULTS_SCENARIOS set (working on one scenario),
// src/run.ts runs alone, as it is.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (env: Record<string, string>, label: string): Promise<number> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'run.ts')], {
      env: { ...process.env, ...env },
      stdio: 'inherit',
    });
    child.on('error', (error) => {
      console.log(`[faults] ${label}: could not start (${error.message})`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });

if (process.env.OMNIBUS_FAULTS_BACKENDS || process.env.OMNIBUS_FAULTS_SCENARIOS) {
  process.exit(await run({}, 'run'));
}

const dir = mkdtempSync(join(tmpdir(), 'omnibus-faults-'));
const part = (name: string) => join(dir, `${name}.json`);
const started = Date.now();
const took = () => `${Math.round((Date.now() - started) / 1000)} s`;
try {
  const lanes = '-soak,-clusters';
  // each part's verdict is in the report's (its rows are there): the exit codes are not needed
  await Promise.all([
    run(
      {
        OMNIBUS_FAULTS_BACKENDS: 'memory,nats,redis,rabbitmq',
        OMNIBUS_FAULTS_SCENARIOS: lanes,
        OMNIBUS_FAULTS_PART_OUT: part('lane-1'),
      },
      'lane memory, nats, redis, rabbitmq',
    ),
    run(
      {
        OMNIBUS_FAULTS_BACKENDS: 'kafka',
        OMNIBUS_FAULTS_SCENARIOS: lanes,
        OMNIBUS_FAULTS_PART_OUT: part('lane-2'),
      },
      'lane kafka',
    ),
  ]);
  console.log(`[faults] lanes done (${took()})`);
  await run({ OMNIBUS_FAULTS_SCENARIOS: 'soak', OMNIBUS_FAULTS_PART_OUT: part('soak') }, 'soaks');
  console.log(`[faults] soaks done (${took()})`);
  await run({ OMNIBUS_FAULTS_SCENARIOS: 'clusters', OMNIBUS_FAULTS_PART_OUT: part('clusters') }, 'clusters');
  console.log(`[faults] clusters done (${took()})`);
  // a part that wrote nothing (its process died) is missing from the report: that fails the run
  const parts = ['lane-1', 'lane-2', 'soak', 'clusters'].map(part);
  const missing = parts.filter((file) => !existsSync(file));
  for (const file of missing) console.log(`[faults] no result from ${file}: that part did not finish`);
  const report = await run({ OMNIBUS_FAULTS_PARTS_IN: parts.filter(existsSync).join(',') }, 'report');
  process.exitCode = report !== 0 || missing.length > 0 ? 1 : 0;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
