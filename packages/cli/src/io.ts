import type { Readable, Writable } from 'node:stream';
import pc from 'picocolors';
import { terminalSafe } from './format.js';

/** The streams and environment a run of the CLI works with (the process's, or a test's). */
export interface CliIo {
  readonly stdin: Readable & { isTTY?: boolean };
  readonly stdout: Writable & { isTTY?: boolean; columns?: number };
  readonly stderr: Writable & { isTTY?: boolean; columns?: number };
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The colour functions of picocolors: real ones, or pass-throughs when colour is off. */
export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Whether to colour what goes to `stream`: only a terminal gets colour (piped output is
 * plain), never with `NO_COLOR` (https://no-color.org) or `TERM=dumb` or `--no-color`;
 * `FORCE_COLOR` (not `0`) forces it. picocolors' own default also turns colour on under
 * `CI` for piped output, which a CLI whose output is parsed must not do: hence this.
 */
export function colorEnabled(
  stream: { isTTY?: boolean },
  env: Readonly<Record<string, string | undefined>>,
  flag: boolean | undefined,
): boolean {
  if (flag === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

/** What a command writes to: data to stdout, messages and progress to stderr. */
export class Output {
  readonly io: CliIo;
  /** Colours for stdout. */
  readonly c: Colors;
  /** Colours for stderr. */
  readonly ce: Colors;
  readonly verbose: boolean;

  constructor(io: CliIo, options: { color?: boolean; verbose?: boolean } = {}) {
    this.io = io;
    this.c = pc.createColors(colorEnabled(io.stdout, io.env, options.color));
    this.ce = pc.createColors(colorEnabled(io.stderr, io.env, options.color));
    this.verbose = options.verbose === true;
  }

  /** True when stderr is a terminal: progress bars and prompts may be shown there. */
  get interactiveErr(): boolean {
    return this.io.stderr.isTTY === true && this.io.env.TERM !== 'dumb';
  }

  /** A line of data (stdout). */
  line(text = ''): void {
    this.io.stdout.write(`${terminalSafe(text)}\n`);
  }

  /** A line for the person (stderr): notes, summaries of side effects, warnings. */
  note(text: string): void {
    this.io.stderr.write(`${terminalSafe(text)}\n`);
  }
}
