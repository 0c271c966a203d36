import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BenchPart,
  type BenchReport,
  benchSettings,
  benchStats,
  renderBenchChart,
  renderBenchPage,
} from '../src/index.js';

describe('benchmark harness', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omnibus-bench-'));
    vi.stubEnv('OMNIBUS_REPORT_DIR', dir);
    vi.stubEnv('BENCH_PARENT', '1');
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });
  const read = (name: string) =>
    JSON.parse(readFileSync(join(dir, `bench-${name}.json`), 'utf8')) as BenchReport;

  it('reads quick and rounds from the command line and the environment', () => {
    expect(benchSettings([], {})).toEqual({ quick: false, rounds: 5 });
    expect(benchSettings(['node', 'x', '--quick'], {})).toEqual({ quick: true, rounds: 3 });
    expect(benchSettings([], { BENCH_QUICK: '1', BENCH_ROUNDS: '7' })).toEqual({ quick: true, rounds: 7 });
  });

  it('summarises rounds: median, min–max, quartiles; integers stay integers', () => {
    expect(benchStats([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, q1: 2, q3: 4, rounds: [5, 1, 3] });
    expect(benchStats([10, 20, 30, 41]).median).toBe(25);
    expect(benchStats([1, 2]).median).toBe(2); // 1.5 rounded: rates are whole numbers
    expect(benchStats([0.1, 0.2]).median).toBeCloseTo(0.15);
  });

  it('alternates Omnibus and its peers round by round and reports medians, spread and ratios', async () => {
    const calls: string[] = [];
    const side = (label: string, values: number[]) => async (round: number) => {
      calls.push(`${label}${round}`);
      return values[round] as number;
    };
    const part = new BenchPart({
      name: 'unit',
      title: 'unit test',
      peer: 'peers',
      warmup: 1,
      settings: { quick: true, rounds: 3 },
    });
    part.environment.URL = 'nats://user:secret@127.0.0.1:4222';
    part.add({
      name: 'throughput (100)',
      unit: 'msg/s',
      omnibus: side('o', [1, 100, 300, 200]),
      peers: { a: side('a', [1, 50, 50, 50]), b: side('b', [1, 400, 400, 400]) },
    });
    part.add({
      name: 'latency (10)',
      unit: 'ms',
      omnibus: async () => ({ p50: 1, p99: 4 }),
      peers: { a: async () => ({ p50: 2, p99: 2 }) },
    });
    const report = await part.run();
    expect(calls).toEqual(['o0', 'a0', 'b0', 'o1', 'a1', 'b1', 'o2', 'a2', 'b2', 'o3', 'a3', 'b3']);
    const [throughput, p50, p99] = report.metrics;
    expect(throughput?.omnibus).toMatchObject({ median: 200, min: 100, max: 300, rounds: [100, 300, 200] });
    expect(throughput?.peers.map((p) => [p.name, p.stats.median, p.ratio])).toEqual([
      ['a', 50, 4],
      ['b', 400, 0.5],
    ]);
    expect([p50?.scenario, p99?.scenario]).toEqual(['latency p50 (10)', 'latency p99 (10)']);
    expect(p99?.peers[0]?.ratio).toBe(2);
    expect(report.rows[0]).toEqual({
      scenario: 'throughput (100)',
      omnibus: 200,
      peer: 50,
      peerName: 'a',
      unit: 'msg/s',
    });
    const written = read('unit');
    expect(written).toMatchObject({ name: 'unit', quick: true, rounds: 3, warmup: 1 });
    expect(written.metrics).toHaveLength(3);
    expect(JSON.stringify(written)).not.toContain('secret');
  });

  it('records an unreachable backend as skipped, with exit code 0', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation(() => {
      throw new Error('exit');
    });
    const part = new BenchPart({ name: 'gone', title: 'gone', peer: 'raw client' });
    await expect(
      part.require('NATS at nats://127.0.0.1:1', () => Promise.reject(new Error('connection refused'))),
    ).rejects.toThrow('exit');
    expect(exit).toHaveBeenCalledWith(0);
    expect(read('gone').skipped).toBe('NATS at nats://127.0.0.1:1 is not reachable (connection refused)');
  });

  it('renders a chart and a page from reports', () => {
    const stats = (median: number) => ({
      median,
      min: median - 1,
      max: median + 1,
      q1: median,
      q3: median,
      rounds: [],
    });
    const report: BenchReport = {
      name: 'x',
      title: 'X <vs> raw & co',
      peer: 'raw client',
      generatedAt: '2026-01-02T03:04:05.000Z',
      quick: false,
      rounds: 5,
      warmup: 0,
      durationMs: 12_000,
      machine: { cpu: 'CPU', cores: 2, memoryGiB: 8, node: 'v20.0.0', os: 'linux' },
      environment: { 'nats-server': '2.9.10' },
      notes: ['a note'],
      metrics: [
        {
          scenario: 's (1)',
          unit: 'msg/s',
          omnibus: stats(10),
          peers: [{ name: 'p', stats: stats(20), ratio: 0.5 }],
        },
      ],
      rows: [],
    };
    const svg = renderBenchChart(report);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('X &lt;vs&gt; raw &amp; co');
    expect(svg.match(/<rect /g)).toHaveLength(3); // background + two bars
    const page = renderBenchPage(
      [
        { name: 'x', heading: 'X', report, chart: 'bench/x.svg' },
        {
          name: 'y',
          heading: 'Y',
          report: { ...report, name: 'y', metrics: [], skipped: 'Y is not reachable' },
        },
        { name: 'z', heading: 'Z', failed: 'exited with 1' },
      ],
      { command: 'pnpm bench', intro: ['Intro.'] },
    );
    expect(page).toContain('- Machine: CPU, 2 cores, 8 GiB RAM, linux');
    expect(page).toContain('- X: nats-server 2.9.10');
    expect(page).toContain('![X: omnibus vs raw client](bench/x.svg)');
    expect(page).toContain('| s (1) | 10 (9–11) msg/s | p | 20 (19–21) msg/s | 0.50 |');
    expect(page).toContain('Skipped in this run: Y is not reachable.');
    expect(page).toContain('Not measured in this run: exited with 1.');
  });
});
