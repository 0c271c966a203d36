// A failed create releases everything it opened: a process whose bus could not connect exits by
// itself, at once. Each case runs in a child `node` process importing the built package (dist).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

const DIST = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.js')).href;
const CREATE = 'createKafkaBus';
/**
 * How long after its ConnectionError the child may take to exit. Its sockets are released at
 * once; what can remain are the connect retries kafkajs had already scheduled (its retrier's
 * timers cannot be cancelled from outside): at most about 2 s, each finding a refused socket.
 */
const EXIT_WITHIN_MS = 4_000;

/** The child: create a bus, report the error, then nothing — it must exit by itself. */
const CHILD = `
const [dist, create, options] = process.argv.slice(2);
const started = Date.now();
const mod = await import(dist);
try {
  const bus = await mod[create](JSON.parse(options));
  await bus.close();
  console.log(JSON.stringify({ created: true }));
} catch (error) {
  console.log(JSON.stringify({ name: error?.name, message: String(error?.message), afterMs: Date.now() - started }));
}
`;

interface Outcome {
  name?: string;
  message?: string;
  created?: boolean;
  /** From the error to the child's exit (ms); undefined when it did not exit within the bound. */
  exitAfterMs?: number;
}

let script: string;
beforeAll(() => {
  script = join(mkdtempSync(join(tmpdir(), 'omnibus-exit-')), 'create.mjs');
  writeFileSync(script, CHILD);
});

/** Runs the child; kills it (by its pid) when it has not exited `EXIT_WITHIN_MS` after its error. */
function runChild(options: object): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, DIST, CREATE, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    let outcome: Outcome | undefined;
    let errorAt = 0;
    let bound: ReturnType<typeof setTimeout> | undefined;
    const giveUp = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (outcome || !out.includes('\n') || !line) return;
      outcome = JSON.parse(line) as Outcome;
      errorAt = Date.now();
      bound = setTimeout(() => child.kill('SIGKILL'), EXIT_WITHIN_MS);
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(giveUp);
      clearTimeout(bound);
      if (!outcome)
        return reject(new Error(`the child exited (${signal ?? _code}) without an outcome: ${out}`));
      resolve({ ...outcome, ...(signal === 'SIGKILL' ? {} : { exitAfterMs: Date.now() - errorAt }) });
    });
  });
}

const servers: { port: number; close(): void }[] = [];
async function server(onSocket: (socket: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const s = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  servers.push({
    port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      s.close();
    },
  });
  return port;
}
afterAll(() => {
  for (const s of servers.splice(0)) s.close();
});

/** Accepts and never answers (a frozen broker). */
const silent = () => server(() => undefined);
/** Answers anything with something that is no protocol of ours. */
const garbage = () =>
  server((socket) => {
    socket.write('garbage\r\n');
    socket.on('data', () => socket.write('HTTP/1.1 400 Bad Request\r\n\r\n'));
  });

it.each([
  ['accepts and never answers', silent],
  ['answers garbage', garbage],
  ['refuses', async () => 1],
])(
  'a server that %s: ConnectionError, then the process exits by itself',
  async (_what, start) => {
    const port = await start();
    const outcome = await runChild({ url: `kafka://127.0.0.1:${port}`, connectTimeoutMs: 1_500 });
    expect(outcome.name).toBe('ConnectionError');
    expect(outcome.exitAfterMs, `still alive ${EXIT_WITHIN_MS} ms after: ${outcome.message}`).toBeDefined();
  },
  60_000,
);
