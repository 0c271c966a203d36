import { writeFileSync } from 'node:fs';
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
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** A finished span as written to the trace file (what scripts/trace-waterfall.mjs draws). */
export interface SpanRecord {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  startMs: number;
  endMs: number;
  status: number;
  attributes: Record<string, unknown>;
}

const toMs = ([s, ns]: [number, number]) => s * 1_000 + ns / 1e6;

function record(span: ReadableSpan): SpanRecord {
  return {
    name: span.name,
    kind: span.kind,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    ...(span.parentSpanContext ? { parentSpanId: span.parentSpanContext.spanId } : {}),
    startMs: toMs(span.startTime),
    endMs: toMs(span.endTime),
    status: span.status.code,
    attributes: { ...span.attributes },
  };
}

/**
 * Tracing for the example, on when OMNIBUS_TRACE names a file: the OpenTelemetry SDK (2.x, which
 * runs on Node 20) with in-memory exporters, and `instrumentOmnibus()`. A real service would
 * export to a collector instead (OTLP); the example writes the spans and the metrics to a file so
 * that scripts/trace-waterfall.mjs can draw one order's trace.
 */
export function startTracing(file = process.env.OMNIBUS_TRACE): { finish(): Promise<void> } | undefined {
  if (!file) return undefined;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  // every settle gets a span here, acks included, so that the drawn trace shows each step
  const instrumentation = instrumentOmnibus({ tracerProvider, meterProvider, settleSpans: 'all' });
  return {
    async finish() {
      instrumentation.disable();
      const { resourceMetrics } = await reader.collect();
      const metrics = resourceMetrics.scopeMetrics.flatMap((scope) =>
        scope.metrics.map((m) => ({
          name: m.descriptor.name,
          unit: m.descriptor.unit,
          points: m.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })),
        })),
      );
      const out = { spans: spans.getFinishedSpans().map(record), metrics };
      writeFileSync(file, `${JSON.stringify(out, null, 1)}\n`);
      console.log(`trace: ${out.spans.length} spans and ${metrics.length} metrics written to ${file}`);
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}
