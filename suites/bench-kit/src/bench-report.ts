// Renders benchmark reports (reports/bench-*.json) as SVG bar charts and the
// docs/benchmarks.md page. Plain strings: no chart library, no DOM.
import type { BenchMetric, BenchReport } from './bench.js';
import { benchTable } from './bench.js';

const escapeXml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A figure as shown in charts: rates with thousands separators, latencies to 3 significant digits. */
export function formatBenchFigure(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '—';
  if (unit === 'ms') return `${+value.toPrecision(3)} ms`;
  return `${Math.round(value).toLocaleString('en-US')} ${unit}`;
}

const OMNIBUS_COLOUR = '#2563eb';
const PEER_COLOUR = '#9ca3af';

/**
 * A horizontal bar chart of one report: a group per figure, one bar per side
 * (Omnibus first, then each peer) at its median, a thin line over its min–max
 * across rounds. Each group has its own scale (units differ between groups);
 * for `ms` shorter is better, for rates longer is better.
 */
export function renderBenchChart(report: BenchReport): string {
  const width = 820;
  const labelWidth = 190;
  const barArea = 440;
  const barHeight = 14;
  const gap = 5;
  const groupGap = 16;
  const titleHeight = 30;
  const out: string[] = [];
  let y = titleHeight + 6;
  for (const metric of report.metrics) {
    out.push(...chartGroup(metric, y, { labelWidth, barArea, barHeight, gap }));
    y += 18 + (1 + metric.peers.length) * (barHeight + gap) + groupGap;
  }
  const footnote = `bars: median of ${report.rounds} rounds per side · lines: min–max · ${report.generatedAt.slice(0, 10)}, ${report.machine.cpu} × ${report.machine.cores}, Node ${report.machine.node}`;
  out.push(`<text x="10" y="${y}" font-size="11" fill="#6b7280">${escapeXml(footnote)}</text>`);
  const height = y + 12;
  const title = `${report.title}${report.quick ? ' — quick run' : ''}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="600" fill="#111827">${escapeXml(title)}</text>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}

function chartGroup(
  metric: BenchMetric,
  top: number,
  layout: { labelWidth: number; barArea: number; barHeight: number; gap: number },
): string[] {
  const { labelWidth, barArea, barHeight, gap } = layout;
  const sides = [
    { name: 'omnibus', stats: metric.omnibus, colour: OMNIBUS_COLOUR },
    ...metric.peers.map((p) => ({ name: p.name, stats: p.stats, colour: PEER_COLOUR })),
  ];
  const scale = Math.max(...sides.map((s) => s.stats.max), Number.MIN_VALUE);
  const x0 = 10 + labelWidth;
  const better = metric.unit === 'ms' ? 'lower is better' : 'higher is better';
  const out = [
    `<text x="10" y="${top + 12}" font-weight="600" fill="#111827">${escapeXml(metric.scenario)} <tspan font-weight="400" fill="#6b7280">— ${escapeXml(metric.unit)}, ${better}</tspan></text>`,
  ];
  let y = top + 18;
  for (const side of sides) {
    const w = (v: number) => Math.max(0, (v / scale) * barArea);
    const mid = y + barHeight / 2;
    out.push(
      `<text x="${x0 - 8}" y="${mid + 4}" text-anchor="end" fill="#374151">${escapeXml(side.name)}</text>`,
      `<rect x="${x0}" y="${y}" width="${w(side.stats.median).toFixed(1)}" height="${barHeight}" fill="${side.colour}" rx="2"/>`,
      `<path d="M${(x0 + w(side.stats.min)).toFixed(1)} ${mid - 4}v8M${(x0 + w(side.stats.min)).toFixed(1)} ${mid}H${(x0 + w(side.stats.max)).toFixed(1)}M${(x0 + w(side.stats.max)).toFixed(1)} ${mid - 4}v8" stroke="#111827" stroke-width="1.5" fill="none"/>`,
      `<text x="${(x0 + Math.max(w(side.stats.median), w(side.stats.max)) + 6).toFixed(1)}" y="${mid + 4}" fill="#111827">${escapeXml(formatBenchFigure(side.stats.median, metric.unit))}</text>`,
    );
    y += barHeight + gap;
  }
  return out;
}

/** A part of the run as the page shows it: its report, or why it has none. */
export interface BenchPageEntry {
  name: string;
  /** Heading, e.g. `Memory`, `NATS JetStream`. */
  heading: string;
  report?: BenchReport;
  /** Why there is no report from this run (the part failed). */
  failed?: string;
  /** Path of the chart relative to the page, when one was written. */
  chart?: string;
}

/** Options of {@link renderBenchPage}. */
export interface BenchPageOptions {
  /** The command that produced the page (`pnpm bench`, `pnpm bench --quick`). */
  command: string;
  /** Paragraphs of the page's introduction (markdown). */
  intro: readonly string[];
  /** Goals the run is checked against, shown as a table after "Where it ran". */
  targets?: readonly BenchTarget[];
}

/** A goal a benchmark figure is held to (e.g. "memory → 1 handler ≥ 1,000,000 msg/s"). */
export interface BenchTarget {
  /** What is measured, in words. */
  what: string;
  /** The goal, in words (`≥ 1,000,000 msg/s`, `≥ 0.9× the raw client`). */
  goal: string;
  /** The measured figure, in words; undefined when the part did not run. */
  measured?: string;
  met?: boolean;
}

/**
 * The benchmark page (markdown): when and on what machine, Node and broker
 * versions the run happened, then per part its chart, table and notes, or the
 * reason it was skipped or failed.
 */
export function renderBenchPage(entries: readonly BenchPageEntry[], options: BenchPageOptions): string {
  const reports = entries.flatMap((e) => (e.report ? [e.report] : []));
  const first = reports[0];
  const lines = [
    '# Benchmarks',
    '',
    `<!-- generated by \`${options.command}\` (scripts/bench.mjs) from its own run; do not edit -->`,
    '',
    ...options.intro.flatMap((p) => [p, '']),
  ];
  if (first) {
    const m = first.machine;
    const quick = reports.some((r) => r.quick);
    lines.push(
      '## Where it ran',
      '',
      `- Date: ${first.generatedAt.slice(0, 10)} (${quick ? `quick run, ${first.rounds} rounds per side` : `${first.rounds} rounds per side`})`,
      `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.os}`,
      `- Node ${m.node}`,
    );
    for (const e of entries) {
      const env = Object.entries(e.report?.environment ?? {});
      if (env.length > 0) lines.push(`- ${e.heading}: ${env.map(([k, v]) => `${k} ${v}`).join(', ')}`);
    }
    lines.push('');
  }
  if (options.targets && options.targets.length > 0) {
    lines.push('## Targets', '');
    if (reports.some((r) => r.quick))
      lines.push(
        'A quick run (`--quick`: smaller counts, fewer rounds, no time to warm up): these verdicts are indicative only. The targets are judged on a full `pnpm bench`.',
        '',
      );
    lines.push('| what | goal | this run | |', '| --- | --- | --- | --- |');
    for (const t of options.targets) {
      const verdict = t.measured === undefined ? 'not measured' : t.met ? '✅ met' : '❌ not met';
      lines.push(`| ${t.what} | ${t.goal} | ${t.measured ?? '—'} | ${verdict} |`);
    }
    lines.push('');
  }
  for (const entry of entries) {
    lines.push(`## ${entry.heading}`, '');
    const r = entry.report;
    if (!r) {
      lines.push(`Not measured in this run: ${entry.failed ?? 'no report'}.`, '');
      continue;
    }
    if (r.skipped) {
      lines.push(`Skipped in this run: ${r.skipped}.`, '');
      continue;
    }
    const warmup = r.warmup ? ` after ${r.warmup} unrecorded warm-up round${r.warmup > 1 ? 's' : ''}` : '';
    lines.push(`${r.title}. ${Math.round(r.durationMs / 1000)} s, ${r.rounds} rounds per side${warmup}.`, '');
    if (entry.chart) lines.push(`![${entry.heading}: omnibus vs ${r.peer}](${entry.chart})`, '');
    lines.push(...benchTable([r]), '');
    for (const note of r.notes) lines.push(`- ${note}`);
    if (r.notes.length > 0) lines.push('');
  }
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
