import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalServer } from '@omnibus/testing';

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

/** Starts `nats-server` on 127.0.0.1 and a spare port (JetStream with a temporary store unless `jetstream: false`). */
export async function startNatsServer(
  options: { jetstream?: boolean; args?: string[] } = {},
): Promise<LocalNatsServer> {
  const store = mkdtempSync(join(tmpdir(), 'omnibus-nats-'));
  const server = await startLocalServer({
    name: 'nats-server',
    binaries: ['/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server', 'nats-server'],
    args: (port) => [
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      ...(options.jetstream === false ? [] : ['-js', '-sd', store]),
      ...(options.args ?? []),
    ],
  });
  return {
    port: server.port,
    url: `nats://127.0.0.1:${server.port}`,
    get pid() {
      return server.pid;
    },
    kill: () => server.kill(),
    pause: (paused) => server.pause(paused),
    restart: () => server.restart(),
    async dispose() {
      await server.dispose();
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
