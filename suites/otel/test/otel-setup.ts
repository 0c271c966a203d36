// The OpenTelemetry SDK the tests use, set up as a user would (SDK 2.x, which runs on Node 20):
// an AsyncLocalStorage context manager, the W3C propagator, in-memory span and metric exporters.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

export const spanExporter = new InMemorySpanExporter();
export const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(spanExporter)],
});
export const metricReader = new PeriodicExportingMetricReader({
  exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
  exportIntervalMillis: 3_600_000,
});
export const meterProvider = new MeterProvider({ readers: [metricReader] });

/** Finished spans whose attributes mention `prefix` (this test's subjects). */
export function spansOf(prefix: string): ReadableSpan[] {
  return spanExporter
    .getFinishedSpans()
    .filter((s) => Object.values(s.attributes).some((v) => typeof v === 'string' && v.includes(prefix)));
}

/** A metric's data points now, by name: [attributes, value] (sum, or histogram count). */
export async function points(
  name: string,
): Promise<{ attributes: Record<string, unknown>; value: number }[]> {
  const { resourceMetrics } = await metricReader.collect();
  const out: { attributes: Record<string, unknown>; value: number }[] = [];
  for (const scope of resourceMetrics.scopeMetrics)
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue;
      for (const p of metric.dataPoints as { attributes: Record<string, unknown>; value: unknown }[]) {
        const v = p.value as number | { count: number };
        out.push({ attributes: p.attributes, value: typeof v === 'number' ? v : v.count });
      }
    }
  return out;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Records a backend's trace continuity in reports/otel.json (merged with the other backends'). */
export function report(backend: string, entry: Record<string, unknown>): void {
  const dir = process.env.OMNIBUS_REPORT_DIR
    ? resolve(process.env.OMNIBUS_REPORT_DIR)
    : join(root, 'reports');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'otel.json');
  const all = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  all[backend] = { ...entry, generatedAt: new Date().toISOString() };
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
}
