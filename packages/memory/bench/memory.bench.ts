// The in-memory bus vs in-process peers doing the same work, in alternating rounds of one run:
// node:events EventEmitter, eventemitter3, mitt, emittery and an RxJS Subject per topic.
// Bounded: fixed message counts (smaller with --quick / BENCH_QUICK=1), each round capped in time.
import { EventEmitter, on } from 'node:events';
import {
  BenchPart,
  type BenchRound,
  cardinalityScenarios,
  instrumentedScenario,
  latencyFigures,
  rate,
  redriveScenario,
  sampledInstrumentedScenario,
  within,
} from '@omnibus/bench-kit';
import { SubjectIndex, subjectMatches } from '@omnibus/core';
// the built package, as users get it (tsx would add name-keeping wrappers to src)
import { createMemoryBus } from '@omnibus/memory';
import Emittery from 'emittery';
import { EventEmitter as EventEmitter3 } from 'eventemitter3';
import mittModule, { type Emitter } from 'mitt';
import { Subject } from 'rxjs';

// mitt's types describe its CommonJS build; the ESM build Node loads here exports the function itself
const mitt = mittModule as unknown as typeof mittModule.default;

const part = new BenchPart({
  name: 'memory',
  title: 'Omnibus memory bus vs in-process emitters (256-byte payloads, same process)',
  peer: 'in-process peers',
  warmup: 1,
});
const N = part.count('BENCH_MESSAGES', 100_000, 20_000);
const FANOUT = 10;
const N_ITERATE = part.count('BENCH_ITERATE', 100_000, 20_000);
const N_LATENCY = part.count('BENCH_LATENCY', 5_000, 1_000);
const N_MATCH = part.count('BENCH_MATCH', 500_000, 100_000);
const N_REDRIVE = part.count('BENCH_REDRIVE', 10_000, 300);
const N_SUBJECTS = part.count('BENCH_SUBJECTS', 10_000, 1_000);
const N_LINEAR = Math.max(1, Math.round(N_MATCH / 50)); // the linear scan is ~1,000× slower: fewer lookups
const payload = new Uint8Array(256).fill(7);
const TOPIC = 'bench.x';

/** Resolves once `hit()` was called `target` times. */
function counter(target: number) {
  let seen = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  return {
    hit: () => {
      if (++seen === target) done();
    },
    finished: within(finished, `${target} deliveries`),
  };
}

/** A peer: `listen` adds one handler to the topic, `publish` is its awaited publish. */
interface Peer {
  listen(handler: (payload: Uint8Array) => void): void;
  publish(payload: Uint8Array): Promise<void>;
}

// Synchronous emitters get one awaited microtask per message, like an awaited publish.
const peers: Record<string, () => Peer> = {
  'node:events': () => {
    const ee = new EventEmitter();
    ee.setMaxListeners(FANOUT + 1);
    return {
      listen: (h) => void ee.on(TOPIC, h),
      publish: async (p) => void ee.emit(TOPIC, p),
    };
  },
  eventemitter3: () => {
    const ee = new EventEmitter3();
    return {
      listen: (h) => void ee.on(TOPIC, h),
      publish: async (p) => void ee.emit(TOPIC, p),
    };
  },
  mitt: () => {
    const em: Emitter<Record<string, Uint8Array>> = mitt();
    return {
      listen: (h) => em.on(TOPIC, h),
      publish: async (p) => em.emit(TOPIC, p),
    };
  },
  // emittery's emit is asynchronous by itself: it resolves once every listener ran
  emittery: () => {
    const em = new Emittery<Record<string, Uint8Array>>();
    return {
      listen: (h) => void em.on(TOPIC, h),
      publish: (p) => em.emit(TOPIC, p),
    };
  },
  'rxjs Subject': () => {
    const topics = new Map<string, Subject<Uint8Array>>();
    const topic = (name: string) => {
      let s = topics.get(name);
      if (!s) {
        s = new Subject<Uint8Array>();
        topics.set(name, s);
      }
      return s;
    };
    return {
      listen: (h) => void topic(TOPIC).subscribe(h),
      publish: async (p) => topics.get(TOPIC)?.next(p),
    };
  },
};

/** Awaited publishes of N messages to `handlers` handlers, timed until every delivery was counted. */
function throughput(handlers: number): { omnibus: BenchRound; peers: Record<string, BenchRound> } {
  return {
    omnibus: async () => {
      const bus = createMemoryBus({ maxBuffered: N + 1 });
      const c = counter(N * handlers);
      for (let i = 0; i < handlers; i++) await bus.consume(TOPIC, () => c.hit(), { maxInFlight: 1_000 });
      const t = performance.now();
      for (let i = 0; i < N; i++) await bus.publish(TOPIC, payload);
      await c.finished;
      const result = rate(N, performance.now() - t);
      await bus.close();
      return result;
    },
    peers: Object.fromEntries(
      Object.entries(peers).map(([name, make]) => [
        name,
        async () => {
          const peer = make();
          const c = counter(N * handlers);
          for (let i = 0; i < handlers; i++) peer.listen(() => c.hit()); // a function of its own each (emittery keeps a Set)
          const t = performance.now();
          for (let i = 0; i < N; i++) await peer.publish(payload);
          await c.finished;
          return rate(N, performance.now() - t);
        },
      ]),
    ),
  };
}

const oneHandler = throughput(1);
part.add({ name: `awaited publish → 1 handler (${N})`, unit: 'msg/s', ...oneHandler });
// the same at most once (no queue, no acks), against the same peers
part.add({
  name: `at most once: awaited publish → 1 handler (${N})`,
  unit: 'msg/s',
  omnibus: async () => {
    const bus = createMemoryBus();
    const c = counter(N);
    await bus.consume(TOPIC, () => c.hit(), { delivery: 'at-most-once', maxInFlight: 100_000 });
    const t = performance.now();
    for (let i = 0; i < N; i++) await bus.publish(TOPIC, payload, { delivery: 'at-most-once' });
    await c.finished;
    const result = rate(N, performance.now() - t);
    await bus.close();
    return result;
  },
  peers: oneHandler.peers,
});
part.add({
  name: `awaited publish → ${FANOUT} handlers (${N} × ${FANOUT})`,
  unit: 'msg/s',
  ...throughput(FANOUT),
});

// `for await` over a subscription vs over `events.on()`: a reader loop, awaited publishes
part.add({
  name: `for await over a subscription (${N_ITERATE})`,
  unit: 'msg/s',
  omnibus: async () => {
    const bus = createMemoryBus({ maxBuffered: N_ITERATE + 1 });
    const sub = await bus.subscribe('iter.x');
    const t = performance.now();
    const read = (async () => {
      let seen = 0;
      for await (const _ of sub) if (++seen === N_ITERATE) break;
    })();
    for (let i = 0; i < N_ITERATE; i++) await bus.publish('iter.x', payload);
    await within(read, 'for await over subscribe()');
    const result = rate(N_ITERATE, performance.now() - t);
    await bus.close();
    return result;
  },
  peers: {
    'events.on()': async () => {
      const ee = new EventEmitter();
      const abort = new AbortController();
      const iterator = on(ee, 'iter.x', { signal: abort.signal });
      const t = performance.now();
      const read = (async () => {
        let seen = 0;
        for await (const _ of iterator) if (++seen === N_ITERATE) break;
      })();
      for (let i = 0; i < N_ITERATE; i++) {
        ee.emit('iter.x', payload);
        await Promise.resolve();
      }
      await within(read, 'for await over events.on()');
      abort.abort();
      return rate(N_ITERATE, performance.now() - t);
    },
  },
});

// latency: publish one, wait for the handler, repeat
part.add({
  name: `publish → handler latency (${N_LATENCY})`,
  unit: 'ms',
  omnibus: async () => {
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
      await within(p, 'latency sample');
      samples.push(performance.now() - t);
    }
    await bus.close();
    return latencyFigures(samples);
  },
  peers: {
    'node:events': async () => {
      const ee = new EventEmitter();
      let arrived!: () => void;
      ee.on('lat.x', () => arrived());
      const samples: number[] = [];
      for (let i = 0; i < N_LATENCY; i++) {
        const p = new Promise<void>((r) => {
          arrived = r;
        });
        const t = performance.now();
        setImmediate(() => ee.emit('lat.x', payload)); // a hop through the event loop, as a queue would take
        await within(p, 'latency sample');
        samples.push(performance.now() - t);
      }
      return latencyFigures(samples);
    },
  },
});

// wildcard matching: 1,000 subjects against 100 patterns (literal, `*` and `>`)
const tokens = (prefix: string) => Array.from({ length: 10 }, (_, i) => `${prefix}${i}`);
const subjects = tokens('r').flatMap((r) =>
  tokens('e').flatMap((e) => tokens('v').map((v) => `orders.${r}.${e}.${v}`)),
);
const patterns = Array.from({ length: 100 }, (_, k) => {
  const [r, e, v] = [`r${k % 10}`, `e${Math.floor(k / 10)}`, `v${k % 7}`];
  return [`orders.${r}.${e}.${v}`, `orders.*.${e}.${v}`, `orders.${r}.>`, `orders.*.${e}.*`][k % 4] as string;
});
const expectedMatches = new Map<number, number>();
/** Checks every side found the same matches in `lookups` lookups (and keeps the work from being optimised away). */
function checkMatches(found: number, lookups = N_MATCH): void {
  const expected = expectedMatches.get(lookups) ?? found;
  expectedMatches.set(lookups, expected);
  if (found !== expected) throw new Error(`matchers disagree: ${found} vs ${expected} matches`);
}
function indexRound(maxCached?: number): BenchRound {
  return async () => {
    const index = new SubjectIndex<number>(maxCached);
    patterns.forEach((p, k) => void index.add(p, k));
    let found = 0;
    const t = performance.now();
    for (let i = 0; i < N_MATCH; i++) found += index.match(subjects[i % subjects.length] as string).length;
    const result = rate(N_MATCH, performance.now() - t);
    checkMatches(found);
    return result;
  };
}
part.add({
  name: `match a subject against 100 patterns (${N_MATCH} lookups over 1,000 subjects)`,
  unit: 'lookups/s',
  omnibus: indexRound(),
  peers: {
    'SubjectIndex, no cache': indexRound(0),
    'subjectMatches × 100': async () => {
      let found = 0;
      const t = performance.now();
      for (let i = 0; i < N_LINEAR; i++) {
        const subject = subjects[i % subjects.length] as string;
        for (const p of patterns) if (subjectMatches(p, subject)) found++;
      }
      const result = rate(N_LINEAR, performance.now() - t);
      checkMatches(found, N_LINEAR);
      return result;
    },
  },
});

// subject cardinality: a bus of its own (a group keeps what nobody read, as a broker would)
const cardinalityBus = createMemoryBus({ maxBuffered: N_SUBJECTS + 1 });
for (const scenario of cardinalityScenarios(cardinalityBus, {
  subjects: N_SUBJECTS,
  payload,
  note: (line) => part.notes.push(`${line} (Heap after a full GC when run with --expose-gc, else as found.)`),
  footprint: async () => {
    (globalThis as { gc?: () => void }).gc?.();
    return { 'bytes of heap': process.memoryUsage().heapUsed };
  },
}))
  part.add(scenario);

// a bus of its own, kept for the run: a redrive needs the dead letters its rounds store
const redriveBus = createMemoryBus();
part.add(redriveScenario(redriveBus, N_REDRIVE, payload));

part.notes.push(
  'Peers do the same work as the bus: an awaited publish (synchronous emitters get one awaited microtask per message; emittery awaits its listeners itself) delivered to 1 or 10 handlers that count deliveries. Throughput is messages published per second; deliveries per second are 10× that in the fan-out row. The emitters dispatch synchronously with no acks, retries, buffering, per-subscriber ordering or isolation — the price of the contract, shown side by side.',
  '`for await` reads a `bus.subscribe()` subscription (auto ack) against `for await` over `events.on(emitter)`, awaited publishes on the other side.',
  'Latency: one message at a time, publish → handler; the EventEmitter peer emits from `setImmediate` (one event-loop hop, as a queue would take).',
  'Wildcard matching uses `SubjectIndex` from `@omnibus/core` (the token trie and subject cache the adapters share) with its default cache (10,000 subjects: every lookup after the first pass is a hit); "no cache" is `new SubjectIndex(0)` — core has no switch to turn the cache off, so it keeps one entry and pays its upkeep on every lookup, and with 1,000 subjects in turn it never hits; "subjectMatches × 100" tests each pattern in turn, over 1/50 as many lookups (it is about a thousand times slower).',
);

// what tracing costs: the same round with @omnibus/otel on (#21). Last: an SDK's context manager
// (AsyncLocalStorage) stays enabled for the rest of the process and would slow the scenarios after it
part.add(instrumentedScenario(`awaited publish → 1 handler (${N})`, 'msg/s', oneHandler.omnibus));
part.add(sampledInstrumentedScenario(`awaited publish → 1 handler (${N})`, 'msg/s', 0.1, oneHandler.omnibus));
await part.run();
await redriveBus.close();
