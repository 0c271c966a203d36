// The in-memory bus vs Node's EventEmitter (the in-process peer) doing the same work, in one run.
// Bounded: fixed message counts, each phase capped in time.
import { EventEmitter } from 'node:events';
// the built package, as users get it (tsx would add name-keeping wrappers to src)
import { createMemoryBus } from '@omnibus/memory';
import { type BenchRow, latencyRows, reportBenchmark } from '@omnibus/testing';

const N = Number(process.env.BENCH_MESSAGES ?? 100_000);
const FANOUT = 10;
const N_LATENCY = Number(process.env.BENCH_LATENCY ?? 5_000);
const PHASE_LIMIT_MS = 60_000;
const payload = new Uint8Array(256).fill(7);
const rows: BenchRow[] = [];
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);

function counter(target: number) {
  let seen = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve, reject) => {
    done = resolve;
    setTimeout(() => reject(new Error(`phase exceeded ${PHASE_LIMIT_MS} ms`)), PHASE_LIMIT_MS).unref();
  });
  return { hit: () => ++seen === target && done(), finished };
}

async function omnibusThroughput(subscribers: number): Promise<number> {
  const bus = createMemoryBus({ maxBuffered: N + 1 });
  const c = counter(N * subscribers);
  for (let i = 0; i < subscribers; i++)
    await bus.consume('bench.x', () => void c.hit(), { maxInFlight: 1_000 });
  const t = performance.now();
  for (let i = 0; i < N; i++) await bus.publish('bench.x', payload);
  await c.finished;
  const result = rate(N, performance.now() - t);
  await bus.close();
  return result;
}

async function emitterThroughput(subscribers: number): Promise<number> {
  const ee = new EventEmitter();
  ee.setMaxListeners(subscribers + 1);
  const c = counter(N * subscribers);
  for (let i = 0; i < subscribers; i++) ee.on('bench.x', async () => void c.hit());
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    ee.emit('bench.x', payload);
    await Promise.resolve(); // like an awaited publish: one microtask per message
  }
  await c.finished;
  return rate(N, performance.now() - t);
}

rows.push({
  scenario: `publish → 1 handler (${N})`,
  omnibus: await omnibusThroughput(1),
  peer: await emitterThroughput(1),
  unit: 'msg/s',
});
rows.push({
  scenario: `publish → ${FANOUT} handlers (${N} × ${FANOUT})`,
  omnibus: await omnibusThroughput(FANOUT),
  peer: await emitterThroughput(FANOUT),
  unit: 'msg/s',
});

// latency: publish one, wait for the handler, repeat
{
  const bus = createMemoryBus();
  let arrived!: () => void;
  await bus.consume('lat.x', () => arrived());
  const samples: number[] = [];
  for (let i = 0; i < N_LATENCY; i++) {
    const p = new Promise<void>((r) => {
      arrived = r;
    });
    const t = performance.now();
    await bus.publish('lat.x', payload);
    await p;
    samples.push(performance.now() - t);
  }
  await bus.close();
  const ee = new EventEmitter();
  let eeArrived!: () => void;
  ee.on('lat.x', () => eeArrived());
  const peerSamples: number[] = [];
  for (let i = 0; i < N_LATENCY; i++) {
    const p = new Promise<void>((r) => {
      eeArrived = r;
    });
    const t = performance.now();
    setImmediate(() => ee.emit('lat.x', payload)); // a hop through the event loop, as a queue would take
    await p;
    peerSamples.push(performance.now() - t);
  }
  rows.push(...latencyRows('publish → handler latency', samples, peerSamples, 4));
}

reportBenchmark({
  name: 'memory',
  title: 'Omnibus memory bus vs EventEmitter (256-byte payloads, same process, same run)',
  peer: 'EventEmitter',
  rows,
});
