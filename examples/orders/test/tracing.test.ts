// The example with tracing on (OMNIBUS_TRACE), as docs/otel.md shows it: one order's trace holds
// the service's send, the audit log, billing's three attempts ending in a dead letter, and the
// dead-letter watcher; scripts/trace-waterfall.mjs draws it (and escapes what it draws).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const script = join(here, '..', '..', '..', 'scripts', 'trace-waterfall.mjs');
const tsx = createRequire(import.meta.url).resolve('tsx/cli');

it('OMNIBUS_TRACE writes one trace per order: send → audit, billing ×3 → dead letter → the watcher', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omnibus-trace-'));
  const file = join(dir, 'trace.json');
  const run = spawnSync(process.execPath, [tsx, 'src/main.ts'], {
    cwd: join(here, '..'),
    env: { ...process.env, OMNIBUS_URL: 'memory://', OMNIBUS_TRACE: file },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/trace: \d+ spans and \d+ metrics written to /);
  const drawn = spawnSync(process.execPath, [script, file, '--out', dir], { encoding: 'utf8' });
  expect(drawn.status, drawn.stderr).toBe(0);
  const page = readFileSync(join(dir, 'otel.md'), 'utf8');
  for (const line of [
    '- `send orders.eu.created`',
    '  - `process orders.>`',
    '  - `process orders.eu.created [eu-report]`',
    '  - `process orders.*.created [billing]`',
    '  - `process orders.*.created [billing] attempt 2`',
    '    - `dead_letter orders.*.created [billing] attempt 3`',
    '  - `process dlq.orders.>`',
  ])
    expect(page).toContain(line);
  expect(page).toMatch(
    /`omnibus.messages.dead_lettered` \(\{message\}\) \| .*messaging.consumer.group.name=billing \| 2 \|/,
  );
  const svg = readFileSync(join(dir, 'otel', 'orders-trace.svg'), 'utf8');
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg.match(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="16"/g)).toHaveLength(13);
}, 90_000);

it('the drawing escapes what it draws: a hostile subject cannot put markup in the page', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omnibus-trace-'));
  const hostile = '<script>alert(1)</script>';
  const span = (name: string, spanId: string, parentSpanId?: string) => ({
    name,
    kind: 3,
    traceId: 't1',
    spanId,
    ...(parentSpanId ? { parentSpanId } : {}),
    startMs: 1,
    endMs: 2,
    status: 0,
    attributes: { 'messaging.message.id': 'o-1', 'messaging.consumer.group.name': hostile },
  });
  writeFileSync(
    join(dir, 'trace.json'),
    JSON.stringify({ spans: [span(`send ${hostile}`, 'a'), span('dead_letter x', 'b', 'a')], metrics: [] }),
  );
  const drawn = spawnSync(process.execPath, [script, join(dir, 'trace.json'), '--out', dir], {
    encoding: 'utf8',
  });
  expect(drawn.status, drawn.stderr).toBe(0);
  const svg = readFileSync(join(dir, 'otel', 'orders-trace.svg'), 'utf8');
  expect(svg).not.toContain('<script');
  expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
});
