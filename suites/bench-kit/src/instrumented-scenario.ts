import { instrumentOmnibus } from '@omnibus/otel';
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import type { BenchMeasurement, BenchRound, BenchScenario } from './bench.js';

let sdkReady = false;
/** The global context manager and propagator an SDK set-up registers (once per process). */
function registerSdkGlobals(): void {
  if (sdkReady) return;
  sdkReady = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

/**
 * Runs `round` with `@omnibus/otel` on: a real SDK exporting to memory in batches, as a service
 * would to a collector — every trace, or (`sampled`) a share of them, parent-based as the SDK's
 * `parentbased_traceidratio` does.
 */
async function withExporter(round: BenchRound, index: number, sampled?: number): Promise<BenchMeasurement> {
  registerSdkGlobals();
  const spans = new InMemorySpanExporter();
  const processor = new BatchSpanProcessor(spans, { maxQueueSize: 100_000, maxExportBatchSize: 2_048 });
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [processor],
    ...(sampled === undefined
      ? {}
      : { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampled) }) }),
  });
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 60_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const instrumentation = instrumentOmnibus({ tracerProvider, meterProvider });
  try {
    return await round(index);
  } finally {
    instrumentation.disable();
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
    spans.reset();
  }
}

/** Runs `round` with `@omnibus/otel` on and no SDK: the API's no-op tracer and meter. */
async function withNoopApi(round: BenchRound, index: number): Promise<BenchMeasurement> {
  const instrumentation = instrumentOmnibus();
  try {
    return await round(index);
  } finally {
    instrumentation.disable();
  }
}

/**
 * What `@omnibus/otel` costs on a scenario: the same round with the instrumentation on and a real
 * SDK exporting spans (in batches, to memory) and metrics — the Omnibus figure — beside the round
 * without instrumentation, and with it on but no SDK registered (the no-op API). The ratio to
 * "not instrumented" is the throughput kept with tracing on.
 */
export function instrumentedScenario(name: string, unit: string, round: BenchRound): BenchScenario {
  return {
    name: `${name}, @omnibus/otel on (SDK, in-memory exporter)`,
    unit,
    omnibus: (index) => withExporter(round, index),
    peers: {
      'not instrumented': round,
      'otel on, no SDK (no-op API)': (index) => withNoopApi(round, index),
    },
  };
}

/**
 * The same with the traces sampled (`ratio` of them, parent-based: a consumer follows the
 * producer's decision), what production set-ups usually run; metrics are recorded for every
 * message either way.
 */
export function sampledInstrumentedScenario(
  name: string,
  unit: string,
  ratio: number,
  round: BenchRound,
): BenchScenario {
  return {
    name: `${name}, @omnibus/otel on (SDK, ${Math.round(ratio * 100)} % of traces sampled)`,
    unit,
    omnibus: (index) => withExporter(round, index, ratio),
    peers: { 'not instrumented': round },
  };
}
