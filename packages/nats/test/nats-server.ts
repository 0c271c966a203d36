import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A nats-server this test process started on a spare port; stopped only by its own PID. */
export interface LocalNatsServer {
  readonly port: number;
  readonly url: string;
  readonly pid: number | undefined;
  /** Kills this server's process (SIGKILL: a crash) and waits until it is gone. */
  kill(): Promise<void>;
  /** Freezes the process (SIGSTOP) or thaws it (SIGCONT): a server that stops answering without closing sockets. */
  pause(paused: boolean): void;
  /** Starts it again on the same port with the same store directory. */
  restart(): Promise<void>;
  /** Stops it for good and removes its store directory. */
  dispose(): Promise<void>;
}

const BINARY =
  ['/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server'].find(existsSync) ??
  'nats-server';

async function sparePort(): Promise<number> {
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

async function waitPort(port: number, open: boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while ((await portOpen(port)) !== open) {
    if (Date.now() > deadline) throw new Error(`nats-server on ${port} did not ${what} within 15 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `nats-server` on 127.0.0.1 and a spare port (JetStream with a temporary store unless `jetstream: false`). */
export async function startNatsServer(
  options: { jetstream?: boolean; args?: string[] } = {},
): Promise<LocalNatsServer> {
  const port = await sparePort();
  const store = mkdtempSync(join(tmpdir(), 'omnibus-nats-'));
  const args = [
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
    ...(options.jetstream === false ? [] : ['-js', '-sd', store]),
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;
  // never outlive the test process, even when a test times out before its clean-up
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);
  const start = async () => {
    child = spawn(BINARY, args, { stdio: 'ignore' });
    await waitPort(port, true, 'open');
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await exited;
    await waitPort(port, false, 'close');
  };
  await start();
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
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
      rmSync(store, { recursive: true, force: true });
    },
  };
}

/** Deletes streams on the broker at `url` (test clean-up; missing ones are ignored). */
export async function deleteStreams(url: string, names: Iterable<string>): Promise<void> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  for (const name of names) await jsm.streams.delete(name).catch(() => false);
  await nc.close();
}
