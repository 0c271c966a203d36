// The CLI without a broker: help, bad usage (exit 2), one-line errors without credentials, plain
// piped output. Runs the built binary.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { HAS_SCRIPT, hasAnsi, inTerminal, omnibus } from './run-cli.js';

const COMMANDS = [
  ['tail'],
  ['publish'],
  ['groups'],
  ['dlq'],
  ['dlq', 'list'],
  ['dlq', 'show'],
  ['dlq', 'redrive'],
  ['dlq', 'purge'],
  ['bench'],
];

/** A port on loopback where nothing listens (bound, then closed). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('omnibus --help', () => {
  it('documents the commands and the exit codes, exit 0', async () => {
    const run = await omnibus(['--help']);
    expect(run.code).toBe(0);
    for (const command of ['tail', 'publish', 'groups', 'dlq', 'bench'])
      expect(run.stdout).toContain(command);
    expect(run.stdout).toMatch(/Exit codes:[\s\S]*0 +done[\s\S]*1 +the command failed[\s\S]*2 +bad usage/);
    expect(run.stdout).toContain('OMNIBUS_URL');
  });

  it.each(COMMANDS.map((c) => [c.join(' '), c]))('omnibus %s --help, exit 0', async (_, command) => {
    const run = await omnibus([...(command as string[]), '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Usage: omnibus ${(command as string[]).join(' ')}`);
    expect(run.stderr).toBe('');
  });

  it('prints its version', async () => {
    const run = await omnibus(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('bad usage exits 2 with one line on stderr', () => {
  const cases: [string, string[], RegExp][] = [
    ['no command', [], /Usage: omnibus/],
    ['an unknown command', ['tial', 'x'], /unknown command 'tial'[\s\S]*tail/],
    ['an unknown option', ['groups', '--lagg'], /unknown option '--lagg'/],
    ['a missing argument', ['tail'], /missing required argument 'pattern'/],
    ['a malformed pattern', ['tail', 'orders.>.x'], /not a subject pattern/],
    ['a wildcard where a subject belongs', ['publish', 'orders.*', 'x'], /not a subject/],
    ['a negative rate', ['dlq', 'redrive', '--rate', '-5'], /--rate/],
    ['a time that does not read', ['dlq', 'list', '--since', 'yesterday'], /ISO time/],
    ['a header without =', ['publish', 'a.b', 'x', '--header', 'novalue'], /name=value/],
    ['no bus configured', ['groups'], /no bus to talk to: set OMNIBUS_URL or pass --url/],
    ['a URL of no known scheme', ['--url', 'rabbit://h:5672', 'groups'], /--url: unknown scheme/],
    ['a misspelt URL parameter', ['--url', 'nats://127.0.0.1:1?strem=A:a.>', 'groups'], /--url\.strem: /],
  ];
  it.each(cases)('%s', async (_, args, message) => {
    const run = await omnibus(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    if (args.length > 0 && !args.includes('tail') && !args.includes('tial')) expect(run.stdout).toBe('');
    if (args.length > 0) expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('errors', () => {
  it('a broker that cannot be reached: exit 1, one line, the password never shown', async () => {
    const port = await deadPort();
    for (const url of [
      `redis://bob:hunter2@127.0.0.1:${port}`,
      `nats://bob:hunter2@127.0.0.1:${port}`,
      `bob:hunter2@127.0.0.1:${port}`, // the scheme forgotten
    ]) {
      const run = await omnibus(['--url', url, 'publish', 'a.b', 'x'], { timeoutMs: 45_000 });
      expect(run.code, `${url}: ${run.stderr}`).toBe(url.startsWith('bob') ? 2 : 1);
      expect(run.stderr + run.stdout).not.toContain('hunter2');
      const errorLines = run.stderr.split('\n').filter((l) => !l.startsWith('omnibus: warning:') && l.trim());
      expect(errorLines, run.stderr).toHaveLength(1);
      expect(errorLines[0]).toMatch(/^omnibus: /);
    }
  });

  it('the same from OMNIBUS_URL', async () => {
    const port = await deadPort();
    const run = await omnibus(['groups'], { env: { OMNIBUS_URL: `redis://:s3cr3t-pw@127.0.0.1:${port}` } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot connect to redis:\/\/\*\*\*@127\.0\.0\.1/);
    expect(run.stderr).not.toContain('s3cr3t-pw');
  });
});

describe('on the in-memory bus (one process: only what needs no second one)', () => {
  it('tail on memory:// is refused with a reason (exit 2), instead of Node ending it with exit 13', async () => {
    const run = await omnibus(['--url', 'memory://', 'tail', 'x.>']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('memory:// is this process’s own bus');
  });

  it('publishes the payload from an argument or from stdin, and prints the receipt', async () => {
    const fromArg = await omnibus([
      '--url',
      'memory://',
      'publish',
      'orders.created',
      '{"n":1}',
      '--id',
      'o-1',
    ]);
    expect(fromArg.code).toBe(0);
    expect(fromArg.stdout).toMatch(/^published o-1 to orders\.created/);
    const fromStdin = await omnibus(['--url', 'memory://', 'publish', 'orders.created', '-', '--json'], {
      input: 'from stdin',
    });
    expect(fromStdin.code).toBe(0);
    expect(JSON.parse(fromStdin.stdout)).toMatchObject({ subject: 'orders.created', duplicate: false });
  });

  it(`${HAS_SCRIPT ? '' : 'skipped: no script(1) for a terminal: '}on a terminal, publish without a payload is bad usage (exit 2); output has colour`, () => {
    if (!HAS_SCRIPT) return;
    const bare = inTerminal(['--url', 'memory://', 'publish', 'a.b']);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toContain('no payload: give it as an argument, or "-" to read it from stdin');
    const ok = inTerminal(['--url', 'memory://', 'publish', 'a.b', 'x']);
    expect(ok.code).toBe(0);
    expect(hasAnsi(ok.stdout)).toBe(true);
  });

  it('piped output has no colours, also under CI; FORCE_COLOR brings them back', async () => {
    const plain = await omnibus(['--url', 'memory://', 'publish', 'a.b', 'x'], { env: { CI: 'true' } });
    expect(plain.code).toBe(0);
    expect(hasAnsi(plain.stdout + plain.stderr)).toBe(false);
    const forced = await omnibus(['--url', 'memory://', 'publish', 'a.b', 'x'], {
      env: { FORCE_COLOR: '1' },
    });
    expect(hasAnsi(forced.stdout)).toBe(true);
    const noColor = await omnibus(['--url', 'memory://', '--no-color', 'publish', 'a.b', 'x'], {
      env: { FORCE_COLOR: '1' },
    });
    expect(hasAnsi(noColor.stdout)).toBe(false);
  });

  it('groups and dlq work where the adapter has management (an empty memory bus: nothing there)', async () => {
    const groups = await omnibus(['--url', 'memory://', 'groups']);
    expect(groups.code).toBe(0);
    expect(groups.stdout).toContain('no consumer groups');
    const list = await omnibus(['--url', 'memory://', 'dlq', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toBe('');
    expect(list.stderr).toContain('no dead letters in dlq.>');
  });

  it('bench: a short publish/consume measurement', async () => {
    const run = await omnibus(['--url', 'memory://', 'bench', '--count', '200', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ backend: 'memory', published: 200, received: 200 });
    expect(result.publishPerSecond).toBeGreaterThan(0);
  });
});
