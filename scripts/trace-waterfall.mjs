#!/usr/bin/env node
// Draws one trace of a trace file written by the orders example (OMNIBUS_TRACE=<file> pnpm start)
// as a waterfall SVG, and writes docs/otel.md around it with the metrics the run recorded.
//   node scripts/trace-waterfall.mjs <trace.json> [--order <order id>] [--out docs]
// Without --order, the first order whose trace holds a dead_letter span is drawn (billing retried
// it, then dead-lettered it, and the dead-letter watcher got it): the richest trace of a run.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { order: { type: 'string' }, out: { type: 'string', default: 'docs' } },
});
const file = positionals[0];
if (!file) {
  console.error('usage: node scripts/trace-waterfall.mjs <trace.json> [--order <id>] [--out <dir>]');
  process.exit(2);
}
const { spans, metrics } = JSON.parse(readFileSync(file, 'utf8'));
const orderOf = (s) => {
  const id = s.attributes['messaging.message.id'];
  return typeof id === 'string' ? id : undefined;
};

/** The trace to draw: the order's, or the first one with a dead letter. */
function pickTrace() {
  if (values.order) {
    const send = spans.find((s) => s.name.startsWith('send') && orderOf(s) === values.order);
    if (!send) throw new Error(`no send span for order ${values.order} in ${file}`);
    return send.traceId;
  }
  const dead = [...new Set(spans.filter((s) => s.name.startsWith('dead_letter')).map((s) => s.traceId))];
  if (dead.length === 0)
    throw new Error(`no dead_letter span in ${file}: run the example with its default orders`);
  // the richest: most spans (an EU order also reaches the typed report)
  const size = (id) => spans.filter((s) => s.traceId === id).length;
  return dead.sort((a, b) => size(b) - size(a))[0];
}

const traceId = pickTrace();
const inTrace = spans.filter((s) => s.traceId === traceId);
const byId = new Map(inTrace.map((s) => [s.spanId, s]));
const children = new Map();
for (const s of inTrace) {
  const parent = s.parentSpanId && byId.has(s.parentSpanId) ? s.parentSpanId : 'root';
  if (!children.has(parent)) children.set(parent, []);
  children.get(parent).push(s);
}
/** Depth-first, children by start time: the waterfall's rows. */
const rows = [];
const walk = (id, depth) => {
  for (const s of (children.get(id) ?? []).sort((a, b) => a.startMs - b.startMs)) {
    rows.push({ span: s, depth });
    walk(s.spanId, depth + 1);
  }
};
walk('root', 0);

const t0 = Math.min(...inTrace.map((s) => s.startMs));
const t1 = Math.max(...inTrace.map((s) => s.endMs));
const total = Math.max(t1 - t0, 0.001);
const escapeXml = (text) =>
  String(text).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
const KIND = { 1: 'server', 2: 'client', 3: 'producer', 4: 'consumer' };
const COLOR = {
  producer: '#3b82f6',
  consumer: '#16a34a',
  client: '#9ca3af',
  server: '#a855f7',
  internal: '#6b7280',
};
const label = ({ span }) => {
  const group = span.attributes['messaging.consumer.group.name'];
  const attempt = span.attributes['omnibus.delivery.attempt'];
  return `${span.name}${group ? ` [${group}]` : ''}${attempt && attempt !== 1 ? ` attempt ${attempt}` : ''}`;
};
const W = 1100;
const LEFT = 470;
const ROW = 24;
const TOP = 54;
const barW = W - LEFT - 90;
const H = TOP + rows.length * ROW + 40;
const x = (ms) => LEFT + ((ms - t0) / total) * barW;
const parts = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="ui-monospace, SFMono-Regular, Menlo, monospace" font-size="12">`,
  `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
  `<text x="12" y="22" font-size="14" font-weight="bold">One order's trace across the orders example (${rows.length} spans, ${total.toFixed(1)} ms)</text>`,
  `<text x="12" y="40" fill="#374151">trace ${escapeXml(traceId)} · blue: send (producer) · green: process (consumer) · grey: settle · red: error</text>`,
];
rows.forEach((row, i) => {
  const { span, depth } = row;
  const y = TOP + i * ROW;
  const kind = KIND[span.kind] ?? 'internal';
  const error = span.status === 2;
  const fill = error ? '#dc2626' : COLOR[kind];
  const bx = x(span.startMs);
  const bw = Math.max(2, x(span.endMs) - bx);
  if (i % 2 === 0) parts.push(`<rect x="0" y="${y - 2}" width="${W}" height="${ROW}" fill="#f9fafb"/>`);
  parts.push(
    `<text x="${12 + depth * 14}" y="${y + 14}" fill="#111827">${escapeXml(label(row))}</text>`,
    `<rect x="${bx.toFixed(1)}" y="${y + 3}" width="${bw.toFixed(1)}" height="${ROW - 8}" rx="2" fill="${fill}"/>`,
    `<text x="${(bx + bw + 6).toFixed(1)}" y="${y + 14}" fill="#374151">${(span.endMs - span.startMs).toFixed(2)} ms</text>`,
  );
});
parts.push(
  `<text x="${LEFT}" y="${H - 12}" fill="#6b7280">0 ms</text>`,
  `<text x="${LEFT + barW}" y="${H - 12}" text-anchor="end" fill="#6b7280">${total.toFixed(1)} ms</text>`,
  '</svg>',
);
const outDir = values.out;
mkdirSync(join(outDir, 'otel'), { recursive: true });
writeFileSync(join(outDir, 'otel', 'orders-trace.svg'), `${parts.join('\n')}\n`);

const fmt = (v) =>
  typeof v === 'number' ? String(v) : `${v.count} recorded, sum ${Number(v.sum).toFixed(4)}`;
const metricRows = metrics.flatMap((m) =>
  m.points.map(
    (p) =>
      `| \`${m.name}\`${m.unit ? ` (${m.unit})` : ''} | ${Object.entries(p.attributes)
        .filter(([k]) => k !== 'messaging.system')
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')} | ${fmt(p.value)} |`,
  ),
);
const spanList = rows
  .map(({ span, depth }) => `${'  '.repeat(depth)}- \`${label({ span }).replaceAll('`', "'")}\``)
  .join('\n');
const page = `# Tracing the orders example

<!-- generated by scripts/trace-waterfall.mjs from a run of the example; do not edit -->

\`OMNIBUS_TRACE=trace.json npx pnpm --filter @omnibus/example-orders start\` runs the orders example
with \`@omnibus/otel\` on (the OpenTelemetry SDK 2.x with in-memory exporters and
\`settleSpans: 'all'\`, so that acks show too; see
[examples/orders/src/tracing.ts](../examples/orders/src/tracing.ts)), and writes every span and
metric to the file; \`node scripts/trace-waterfall.mjs trace.json\` draws one order's trace from it.
This one is an order over the payment limit: the service publishes it, the audit log and (for an
EU order) the typed report handle it, billing fails three times (two retries with backoff, then a
dead letter), and the dead-letter watcher receives the copy — all in one trace, because the
trace context travels in the message headers (and the dead-letter copy keeps them).

![One order's trace](otel/orders-trace.svg)

The spans, as nested in the trace:

${spanList}

## Metrics of the same run

| metric | attributes | value |
| --- | --- | --- |
${metricRows.join('\n')}
`;
writeFileSync(join(outDir, 'otel.md'), page);
console.log(
  `drew trace ${traceId} (${rows.length} spans) to ${join(outDir, 'otel', 'orders-trace.svg')}; wrote ${join(outDir, 'otel.md')}`,
);
