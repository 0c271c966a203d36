import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, Socket } from 'node:net';

/** A broker process this test process started on a spare port; stopped only by its own PID. */
export interface LocalServer {
  readonly port: number;
  readonly pid: number | undefined;
  /** Kills the process (SIGKILL: a crash) and waits until its port is closed. */
  kill(): Promise<void>;
  /** Freezes the process (SIGSTOP) or thaws it (SIGCONT): a server that stops answering without closing sockets. */
  pause(paused: boolean): void;
  /** Starts it again on the same port with the same arguments. */
  restart(): Promise<void>;
  /** Stops it for good. */
  dispose(): Promise<void>;
}

/** Options of `startLocalServer`. */
export interface LocalServerOptions {
  /** Binary names or paths; the first existing path wins, else the first name is looked up on PATH. */
  binaries: string[];
  /** The arguments for a given port. */
  args: (port: number) => string[];
  /** Used in error messages. */
  name: string;
  /** Environment variables for a given port, added to this process's. */
  env?: (port: number) => Record<string, string>;
  /** Keep the process's stdin open (a pipe never written to): an Erlang shell halts at end of input. */
  keepStdinOpen?: boolean;
  /** How long a start may take before it fails (default 15 s). */
  startTimeoutMs?: number;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.connect(port, '127.0.0.1');
  });
}

async function waitPort(port: number, open: boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await portOpen(port)) !== open) {
    if (Date.now() > deadline)
      throw new Error(`${what} on ${port} did not ${open ? 'open' : 'close'} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts a broker binary (nats-server, redis-server, …) on 127.0.0.1 and a spare
 * port for a test that must kill, pause or restart it. The process never
 * outlives the test process, even when a test times out before its clean-up.
 */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const port = await sparePort();
  const binary =
    options.binaries.find((b) => b.includes('/') && existsSync(b)) ??
    options.binaries.find((b) => !b.includes('/')) ??
    options.binaries[0] ??
    options.name;
  const args = options.args(port);
  let child: ChildProcess | undefined;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);
  const start = async () => {
    child = spawn(binary, args, {
      stdio: [options.keepStdinOpen ? 'pipe' : 'ignore', 'ignore', 'ignore'],
      ...(options.env ? { env: { ...process.env, ...options.env(port) } } : {}),
    });
    await waitPort(port, true, options.name, options.startTimeoutMs);
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return; // already gone
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await exited;
    await waitPort(port, false, options.name);
  };
  await start();
  return {
    port,
    get pid() {
      return child?.pid;
    },
    kill,
    pause(paused) {
      child?.kill(paused ? 'SIGSTOP' : 'SIGCONT');
    },
    restart: start,
    async dispose() {
      process.off('exit', killOnExit);
      await kill();
    },
  };
}
