import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sparePort } from '@omnibus/testing';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../../scripts/kafka-local.sh', import.meta.url));
const CACHE =
  process.env.KAFKA_HOME_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'omnibus', 'kafka');

/** A single-node Kafka this test started with scripts/kafka-local.sh on spare ports; stopped only by its own PID. */
export interface LocalKafka {
  readonly port: number;
  readonly brokers: string[];
  /** SIGKILLs the broker (a crash); its data stays for `start`. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  dispose(): Promise<void>;
}

/** Starts a Kafka broker+controller on spare ports (the jars come from the script's Maven cache); `saslPlain: 'user:password'` for a SASL/PLAIN listener. */
export async function startKafka(options: { saslPlain?: string } = {}): Promise<LocalKafka> {
  const port = await sparePort();
  const controller = await sparePort();
  const env = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controller),
    ...(options.saslPlain ? { KAFKA_SASL_PLAIN: options.saslPlain } : {}),
  };
  const runDir = join(CACHE, `run-${port}`);
  const pid = () => Number(readFileSync(join(runDir, 'kafka.pid'), 'utf8').trim());
  const start = async () => void (await run('bash', [SCRIPT, 'start'], { env, timeout: 120_000 }));
  let owned: number | undefined;
  const killOnExit = () => {
    if (owned) process.kill(owned, 'SIGKILL');
  };
  process.once('exit', killOnExit);
  await start();
  owned = pid();
  return {
    port,
    brokers: [`127.0.0.1:${port}`],
    async kill() {
      const p = pid();
      process.kill(p, 'SIGKILL');
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(p, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      rmSync(join(runDir, 'kafka.pid'), { force: true });
      owned = undefined;
    },
    async start() {
      await start();
      owned = pid();
    },
    async dispose() {
      process.off('exit', killOnExit);
      await run('bash', [SCRIPT, 'stop'], { env, timeout: 60_000 }).catch(() => undefined);
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}
