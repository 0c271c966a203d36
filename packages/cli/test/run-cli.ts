// Runs the built `omnibus` binary as a user would: `node dist/bin.js …` in a child process, with
// bounded waits. Build first (`npx turbo run build --filter=@omnibus/cli...`).
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

if (!existsSync(BIN))
  throw new Error(`${BIN} is missing: build the CLI first (npx turbo run build --filter=@omnibus/cli...)`);

/** What a finished run printed and how it ended. */
export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of a run. */
export interface RunOptions {
  /** Variables added to (or, as undefined, removed from) the environment. */
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed (default: closed at once, empty). */
  input?: string;
  /** Killed with SIGKILL after this long (default 30 s): a hung CLI fails the test, never hangs it. */
  timeoutMs?: number;
}

function environment(extra: RunOptions['env'] = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // the CLI decides colours from the streams; the test runner's own colour settings must not leak in
  delete env.FORCE_COLOR;
  delete env.NO_COLOR;
  delete env.OMNIBUS_URL;
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** A running `omnibus`: its output so far, and ways to wait for a line or for its end. */
export class Running {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly done: Promise<Finished>;
  readonly #killTimer: NodeJS.Timeout;

  constructor(args: readonly string[], options: RunOptions = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], { env: environment(options.env), stdio: 'pipe' });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
    });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.#killTimer = setTimeout(() => this.child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    this.done = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code, signal) => {
        clearTimeout(this.#killTimer);
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
    if (options.input !== undefined) this.child.stdin.end(options.input);
    else this.child.stdin.end();
  }

  /** Complete stdout lines so far. */
  get lines(): string[] {
    return this.stdout.split('\n').slice(0, -1);
  }

  /** Waits (bounded) until `check` holds for the output so far. */
  async waitFor(check: (run: Running) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this)) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        if (check(this)) return;
        throw new Error(`omnibus ended before ${what}: ${this.stderr.trim() || this.stdout.trim()}`);
      }
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; stdout: ${this.stdout.slice(-500)} stderr: ${this.stderr}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Runs `omnibus …` to its end. */
export function omnibus(args: readonly string[], options?: RunOptions): Promise<Finished> {
  return new Running(args, options).done;
}

/** Polls `probe` until it returns something other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** True when `text` holds an ANSI escape (colour, cursor movement). */
export function hasAnsi(text: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC is what is looked for
  return /\u001b\[/.test(text);
}

/** Whether `script(1)` (util-linux) is there to give the CLI a terminal. */
export const HAS_SCRIPT = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

const shellQuote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `omnibus …` on a pseudo-terminal through `script(1)`, as in a person's shell: stdin,
 * stdout and stderr are the terminal (what it shows comes back as `stdout`, both streams mixed);
 * `input` is typed into it.
 */
export function inTerminal(args: readonly string[], options: RunOptions = {}): Finished {
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(' ');
  const run = spawnSync('script', ['-qfec', command, '/dev/null'], {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    env: environment({ TERM: 'xterm-256color', ...options.env }),
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
  return { code: run.status, signal: run.signal, stdout: run.stdout ?? '', stderr: run.stderr ?? '' };
}

/** `text` without ANSI escapes (colours, cursor movement). */
export function stripAnsi(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC is what is removed
  return text.replace(/\u001b(?:\[[0-9;?]*[A-Za-z]|[78])/g, '');
}
