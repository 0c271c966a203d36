#!/usr/bin/env node
// The `omnibus` executable: runCli with the process's arguments, SIGINT/SIGTERM as an abort
// (a second one exits at once), and an exit that does not wait for stray handles.
import { runCli } from './program.js';

const controller = new AbortController();
let signals = 0;
for (const name of ['SIGINT', 'SIGTERM'] as const) {
  process.on(name, () => {
    signals++;
    if (signals > 1) process.exit(130);
    controller.abort(name);
  });
}
// `omnibus tail x | head -1`: once the reader is gone, stop as if interrupted, quietly
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    controller.abort('EPIPE');
  });
}

const code = await runCli(process.argv.slice(2), { signal: controller.signal });
process.exitCode = code;
// everything is closed by now; a client library's stray timer must not hold the exit
setTimeout(() => process.exit(code), 2_000).unref();
