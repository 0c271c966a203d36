import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sparePort } from './local-server.js';

/** A PostgreSQL server this test process started on a spare port; stopped only by its own PID. */
export interface LocalPostgres {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication, no password). */
  readonly url: string;
  readonly pid: number | undefined;
  /**
   * Stops the server: `'immediate'` (SIGQUIT: no checkpoint, crash recovery at the next start —
   * what a crash looks like to clients) or `'fast'` (SIGINT: a clean shutdown).
   */
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops it for good and removes its data directory. */
  dispose(): Promise<void>;
}

const BIN_DIRS = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'];

function binary(name: string): string {
  for (const dir of BIN_DIRS) if (existsSync(join(dir, name))) return join(dir, name);
  return name; // on PATH
}

/** PostgreSQL refuses to run as root: as root, run its binaries as the `postgres` user. */
function asPostgresUser(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]];
}

function ready(port: number, dir: string): boolean {
  const [command, args] = asPostgresUser(binary('pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)]);
  try {
    execFileSync(command, args, { stdio: 'ignore', cwd: dir });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a PostgreSQL server of its own (initdb in a temporary directory, trust authentication,
 * 127.0.0.1 and a spare port) for a test that must stop or crash the database. It is killed when
 * the test process exits normally (a test process killed by a signal leaves it to the OS).
 */
export async function startLocalPostgres(): Promise<LocalPostgres> {
  const port = await sparePort();
  const dir = mkdtempSync(join(tmpdir(), 'omnibus-pg-'));
  chmodSync(dir, 0o755);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const [initCommand, initArgs] = asPostgresUser(binary('initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  execFileSync(initCommand, initArgs, { stdio: 'ignore', cwd: dir });
  let child: ChildProcess | undefined;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  async function start(): Promise<void> {
    const [command, args] = asPostgresUser(binary('postgres'), [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=60',
    ]);
    child = spawn(command, args, { stdio: 'ignore', cwd: dir });
    const deadline = Date.now() + 20_000;
    while (!ready(port, dir)) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`postgres on ${port} exited (${child.exitCode ?? child.signalCode})`);
      if (Date.now() > deadline) throw new Error(`postgres on ${port} was not ready within 20 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function stop(mode: 'immediate' | 'fast' = 'immediate'): Promise<void> {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill(mode === 'immediate' ? 'SIGQUIT' : 'SIGINT');
    await exited;
  }

  try {
    await start();
  } catch (error) {
    child?.kill('SIGKILL');
    process.off('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    get pid() {
      return child?.pid;
    },
    stop,
    start,
    async dispose() {
      process.off('exit', killOnExit);
      await stop('immediate');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
