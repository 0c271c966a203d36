// Does a process exit by itself after a failed create? Tests that call a package's create function
// in a child `node` process, against servers a client cannot talk to, and measure how long the
// child lives on after its error.
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { afterAll, expect, it } from 'vitest';

/** What the child reported about its create call, and how long it lived on after. */
interface CreateInChildOutcome {
  /** The error's `name` (e.g. `ConnectionError`); undefined when the create succeeded. */
  name?: string;
  /** The error's message. */
  message?: string;
  /** True when the create succeeded (the child closed the bus again). */
  created?: boolean;
  /** From the reported outcome to the child's exit (ms); undefined when it did not exit within `exitWithinMs`. */
  exitAfterMs?: number;
}

/** What {@link createInChild} runs. */
interface CreateInChildOptions {
  /** The module the child imports: a file URL, usually the package's built entry, `new URL('../dist/index.js', import.meta.url).href`. */
  module: string;
  /** The exported function the child calls with `options`, e.g. `'createNatsBus'`; it must return a bus (or reject). */
  create: string;
  /** The function's one argument (passed as JSON). */
  options: object;
  /** How long after reporting its outcome the child may take to exit before it is killed (SIGKILL). */
  exitWithinMs: number;
}

/** A child still running this long after it started is killed, outcome or not (ms). */
const GIVE_UP_MS = 60_000;

/** The child: create a bus, report the error (or close the bus), then nothing: it must exit by itself. */
const CHILD = `
const [dist, create, options] = process.argv.slice(1);
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

/**
 * Calls `options.create` of `options.module` in a child `node` process and resolves what it
 * reported and how long after that it exited by itself. A child still alive `exitWithinMs` after
 * its outcome is killed (by its own PID) and resolves without `exitAfterMs`: something the failed
 * create opened (a socket, a timer) keeps the process alive. Rejects when the child exits without
 * reporting.
 */
function createInChild(options: CreateInChildOptions): Promise<CreateInChildOutcome> {
  const { module, create, exitWithinMs } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '--eval', CHILD, module, create, JSON.stringify(options.options)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    let outcome: CreateInChildOutcome | undefined;
    let reportedAt = 0;
    let bound: ReturnType<typeof setTimeout> | undefined;
    const giveUp = setTimeout(() => child.kill('SIGKILL'), GIVE_UP_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (outcome || !out.includes('\n') || !line) return;
      outcome = JSON.parse(line) as CreateInChildOutcome;
      reportedAt = Date.now();
      bound = setTimeout(() => child.kill('SIGKILL'), exitWithinMs);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(giveUp);
      clearTimeout(bound);
      if (!outcome)
        return reject(new Error(`the child exited (${signal ?? code}) without an outcome: ${out}`));
      resolve({ ...outcome, ...(signal === 'SIGKILL' ? {} : { exitAfterMs: Date.now() - reportedAt }) });
    });
  });
}

/** Servers on 127.0.0.1 that a client cannot talk to; each resolves its port. */
interface UnusableServers {
  /** Starts a server that accepts and never answers (a frozen service; another protocol's port where both sides wait for the other). */
  silent(): Promise<number>;
  /** Starts a server that answers anything with something that is no protocol of ours. */
  garbage(): Promise<number>;
  /** A port that refuses connections (port 1: nothing listens there on a test machine). */
  refusing(): Promise<number>;
  /** Destroys every accepted socket and closes every server started so far (call it in `afterAll`). */
  close(): void;
}

/**
 * Servers for the ways a broker can fail a connecting client: one that never answers, one that
 * answers garbage, a port that refuses. Each started server lives until `close()`.
 */
function unusableServers(): UnusableServers {
  const closers: (() => void)[] = [];
  const start = async (onSocket: (socket: Socket) => void): Promise<number> => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      onSocket(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => {
      for (const socket of sockets) socket.destroy();
      server.close();
    });
    return (server.address() as { port: number }).port;
  };
  return {
    silent: () => start(() => undefined),
    garbage: () =>
      start((socket) => {
        socket.write('garbage\r\n');
        socket.on('data', () => socket.write('HTTP/1.1 400 Bad Request\r\n\r\n'));
      }),
    refusing: async () => 1,
    close: () => {
      for (const close of closers.splice(0)) close();
    },
  };
}

/** A kind of server a client cannot talk to: one that never answers, one that answers garbage, a refusing port. */
export type UnusableServer = 'silent' | 'garbage' | 'refusing';

const DESCRIPTIONS: Record<UnusableServer, string> = {
  silent: 'accepts and never answers',
  garbage: 'answers garbage',
  refusing: 'refuses',
};

/** Options of {@link testFailedCreateExits}. */
export interface FailedCreateExitsOptions {
  /** The module the child process imports: a file URL, usually the package's built entry, `new URL('../dist/index.js', import.meta.url).href`. */
  module: string;
  /** The function of `module` the child calls, e.g. `'createNatsBus'`; it resolves a bus or rejects. */
  create: string;
  /** Its one argument (it must survive JSON) for a server on 127.0.0.1 at `port`. */
  options: (port: number) => object;
  /** How long after its ConnectionError the child may take to exit (ms). */
  exitWithinMs: number;
  /** The servers to try, one test each; default all three. */
  servers?: readonly UnusableServer[];
  /** The tests' title; `%s` stands for what the server does. */
  title?: string;
}

/**
 * Declares one vitest test per unusable server (see {@link UnusableServer}): a child `node`
 * process calls `create` of `module` against it, and the test asserts that the create fails with
 * a `ConnectionError` and that the process then exits by itself within `exitWithinMs` (a child
 * still alive then is killed by its own PID). A failed create must release everything it opened.
 * The servers are closed after the file's tests.
 *
 * @example
 * testFailedCreateExits({
 *   module: new URL('../dist/index.js', import.meta.url).href,
 *   create: 'createNatsBus',
 *   options: (port) => ({ url: `nats://127.0.0.1:${port}`, connectTimeoutMs: 1_500 }),
 *   exitWithinMs: 2_000,
 * });
 */
export function testFailedCreateExits(options: FailedCreateExitsOptions): void {
  const {
    servers: kinds = ['silent', 'garbage', 'refusing'],
    title = 'a server that %s: ConnectionError, then the process exits by itself',
    exitWithinMs,
  } = options;
  const servers = unusableServers();
  afterAll(() => servers.close());
  it.each(kinds.map((kind) => [DESCRIPTIONS[kind], kind] as const))(
    title,
    async (_what, kind) => {
      const port = await servers[kind]();
      const outcome = await createInChild({
        module: options.module,
        create: options.create,
        options: options.options(port),
        exitWithinMs,
      });
      expect(outcome.name).toBe('ConnectionError');
      expect(outcome.exitAfterMs, `still alive ${exitWithinMs} ms after: ${outcome.message}`).toBeDefined();
    },
    60_000,
  );
}
