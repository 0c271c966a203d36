import { createMemoryBus } from '@omnibus/memory';
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
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';

const mode = process.argv[2] ?? 'sdk';
if (mode !== 'off') {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}
const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new BatchSpanProcessor(spans, { maxQueueSize: 100000, maxExportBatchSize: 2048 })],
});
const meterProvider = new MeterProvider({
  readers: [
    new PeriodicExportingMetricReader({
      exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
      exportIntervalMillis: 60000,
    }),
  ],
});
if (mode === 'sdk') instrumentOmnibus({ tracerProvider, meterProvider });
const bus = createMemoryBus({ maxBuffered: 200001 });
let n = 0;
await bus.consume(
  'a.b',
  () => {
    n++;
  },
  { maxInFlight: 1000 },
);
const payload = new Uint8Array(256);
const N = 30000;
const t = performance.now();
for (let i = 0; i < N; i++) await bus.publish('a.b', payload);
while (n < N) await new Promise((r) => setImmediate(r));
console.log(mode, 'msg/s', Math.round(N / ((performance.now() - t) / 1000)));
await bus.close();
