import { createRequire } from 'node:module';
import { formatError, redact } from '@omnibus/core';
import { Command, CommanderError, Option } from 'commander';
import { bench } from './commands/bench.js';
import { consoleCommand } from './commands/console.js';
import { dlqList, dlqPurge, dlqRedrive, dlqShow } from './commands/dlq.js';
import { groups } from './commands/groups.js';
import { publish } from './commands/publish.js';
import { tail } from './commands/tail.js';
import { CommandContext, type GlobalOptions } from './context.js';
import { EXIT, errorLine, exitCodeOf } from './errors.js';
import { printable, terminalSafe } from './format.js';
import { type CliIo, Output } from './io.js';
import { collect, fromArg, headerArg, intIn, parseTime, patternArg, rateArg, subjectArg } from './parse.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const EXIT_HELP = `
Configuration:
  OMNIBUS_URL      the bus, as for createEventBusFromEnv(): nats://…, redis://…, kafka://h:9092, amqp://…, memory://
                   (--url overrides it; one of the two is required)
  OMNIBUS_REQUIRE  capabilities to insist on, e.g. durable,replay
  NO_COLOR         no colours (piped output never has colours nor progress bars)

Exit codes:
  0    done
  1    the command failed (broker unreachable, no management API, dead letter not found, purge not confirmed…)
  2    bad usage (unknown command or option, malformed subject, time, number or URL)
  130  interrupted by SIGINT/SIGTERM before it finished (dlq redrive, dlq purge, bench; tail and
       groups --watch end with 0)`;

const SELECTION_HELP = `
Selection (every filter narrows; none selects every dead letter in dlq.>):
  --subject orders.>   original subject   --group billing   --error timeout (case-insensitive text)
  --since 2h / 2026-12-06T10:00:00Z / epoch ms   --until …   --ref <ref> (repeatable)   --in parking.>`;

/** Adds the options that select dead letters. */
function selectionOptions(command: Command): Command {
  return command
    .option('--in <pattern>', 'where dead letters are stored', patternArg, 'dlq.>')
    .option('--subject <pattern>', 'original subject (pattern)', patternArg)
    .option('--group <name>', 'the group that dead-lettered it')
    .option('--error <text>', 'text in the error or reason (case-insensitive)')
    .option('--since <time>', 'dead-lettered at or after (ISO time, epoch ms, or ago: 15m, 2h, 7d)', (t) =>
      parseTime(t),
    )
    .option('--until <time>', 'dead-lettered before', (t) => parseTime(t))
    .option('--ref <ref>', 'exactly this dead letter (repeatable; refs come from dlq list)', collect);
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /** Streams and environment (default: the process's). */
  io?: CliIo;
  /** Aborting it is SIGINT: a redrive stops between messages, tail and --watch end. */
  signal?: AbortSignal;
}

/**
 * Runs `omnibus` with `argv` (the arguments after the program name) and resolves with the
 * exit code: 0 done, 1 failed, 2 bad usage, 130 interrupted. Never rejects; errors are
 * printed on stderr as one line, credentials removed.
 */
export async function runCli(argv: readonly string[], options: RunCliOptions = {}): Promise<number> {
  const io: CliIo = options.io ?? {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  };
  const signal = options.signal ?? new AbortController().signal;
  let exitCode: number = EXIT.ok;

  const run =
    <A extends unknown[]>(body: (ctx: CommandContext, ...args: A) => Promise<number>) =>
    async (...args: A) => {
      const command = args[args.length - 1] as Command;
      const globals = command.optsWithGlobals() as GlobalOptions;
      const out = new Output(io, { color: globals.color, verbose: globals.verbose });
      const ctx = new CommandContext(out, globals, signal);
      let interrupted = false;
      let onAbort: (() => void) | undefined;
      const stopped = new Promise<number>((resolve) => {
        onAbort = () => {
          if (ctx.handlesInterrupt) return;
          interrupted = true;
          out.note('omnibus: interrupted');
          resolve(EXIT.interrupted);
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        const work = body(ctx, ...args);
        work.catch(() => undefined); // an error after an interrupt is not reported
        exitCode = await Promise.race([work, stopped]);
      } catch (error) {
        out.note(
          out.ce.red(
            `omnibus: ${globals.verbose ? redact(formatError(error, { stack: true })) : errorLine(error)}`,
          ),
        );
        exitCode = exitCodeOf(error);
      } finally {
        if (onAbort) signal.removeEventListener('abort', onAbort);
        await ctx.close(interrupted ? 0 : 5_000);
      }
    };

  const program = new Command('omnibus')
    .description('Tail, publish, inspect groups and lag, and manage dead letters on any Omnibus backend.')
    .version(version, '-V, --version')
    .addOption(new Option('--url <url>', 'the bus (default: $OMNIBUS_URL)'))
    .option('--no-color', 'no colours, even on a terminal (also NO_COLOR=1)')
    .option('--verbose', "print the adapter's info lines, and an error's stack")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`omnibus: ${redact(s.trim().replace(/\s*\n\s*/g, ' '))}\n`),
    })
    .showSuggestionAfterError()
    .addHelpText('after', EXIT_HELP);

  program
    .command('tail')
    .description('print every message on subjects matching <pattern> as it arrives, one line each')
    .argument('<pattern>', 'subject or pattern: orders.>, *.created', patternArg)
    .option('--json', 'one JSON object per line (NDJSON): time, subject, id, attempt, headers, payload')
    .option('--from <where>', 'new (default), earliest, or a time (ISO, epoch ms, or ago: 15m, 2h)', fromArg)
    .option('-n, --count <n>', 'stop after n messages', intIn(1, 1e9))
    .option('--preview <chars>', 'characters of payload shown (default 120)', intIn(8, 100_000))
    .addHelpText(
      'after',
      '\nLine: time (published, UTC)  subject  id  attempt=N  [headers]  payload preview\nAn ungrouped subscription: it takes nothing away from any group. Ctrl-C stops it (exit 0).',
    )
    .action(run(tail));

  program
    .command('publish')
    .description('publish one message; the payload is the argument, or stdin with - (or when piped)')
    .argument('<subject>', 'subject to publish to (no wildcards)', subjectArg)
    .argument('[payload]', 'the payload text, or - to read stdin')
    .option('--id <id>', 'message id (the dedupe key where the backend deduplicates)')
    .option('-H, --header <name=value>', 'a header (repeatable)', headerArg)
    .option('--json', 'print the receipt as JSON')
    .action(run(publish));

  program
    .command('groups')
    .description('consumer groups: members, pending, lag and redelivered (– where the broker cannot tell)')
    .option('--json', 'JSON (with --watch: one line per group and refresh)')
    .option('-w, --watch', 'refresh until Ctrl-C')
    .option('--interval <ms>', 'refresh interval with --watch', intIn(100, 3_600_000), 2_000)
    .option('--filter <text>', 'only groups whose name contains text')
    .addHelpText(
      'after',
      '\nPENDING: delivered to a member, not settled yet.  LAG: not delivered yet.  REDELIVERED: delivered more than once.',
    )
    .action(run(groups));

  const dlq = program
    .command('dlq')
    .description('dead letters: list, show, redrive, purge')
    .addHelpText('after', SELECTION_HELP);

  selectionOptions(dlq.command('list').description('list dead letters, oldest first'))
    .option('--json', 'one JSON object per line (NDJSON)')
    .option('--limit <n>', 'at most n (a page)', intIn(1, 100_000), 100)
    .option('--after <ref>', 'the page after this ref')
    .option('--all', 'every matching dead letter, page after page')
    .action(run(dlqList));

  dlq
    .command('show')
    .description('one dead letter: every header and the whole payload')
    .argument('<ref>', 'its ref, from dlq list')
    .option('--in <pattern>', 'where dead letters are stored', patternArg)
    .option('--json', 'as JSON')
    .action(run(dlqShow));

  selectionOptions(
    dlq
      .command('redrive')
      .description(
        'republish dead letters to their original subject (or --to), each removed once its republish is acknowledged',
      ),
  )
    .option('--rate <n>', 'republishes per second (0 = unlimited)', rateArg, 0)
    .option('--to <subject>', 'publish here instead of the original subject', subjectArg)
    .option('--dry-run', 'list what would move; change nothing')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nThe handler sees a redriven message at attempt 1, with headers omnibus-redriven-at, omnibus-redrive-count,\nomnibus-redriven-reason and omnibus-redriven-group (every subscriber of the subject gets it). Ctrl-C stops between messages: each is then dead-lettered, republished or both\n(never lost); the summary says how far it got, exit 130. A progress bar shows on a terminal for long runs.',
    )
    .action(run(dlqRedrive));

  selectionOptions(dlq.command('purge').description('delete dead letters (asks first unless --yes)'))
    .option('-y, --yes', 'do not ask (required when stdin is not a terminal)')
    .option('--dry-run', 'list what would be deleted; change nothing')
    .option('--json', 'print the report as JSON')
    .action(run(dlqPurge));

  program
    .command('console')
    .description(
      'serve the web console: overview, groups and lag, dead letters to inspect, redrive and purge, live tail',
    )
    .option('-p, --port <port>', 'port (0 picks a free one)', intIn(0, 65_535), 7070)
    .option(
      '--host <address>',
      'address to bind; any but loopback requires the access token printed in the URL',
      '127.0.0.1',
    )
    .option('--token', 'require an access token on loopback too (a shared machine)')
    .addHelpText(
      'after',
      '\nPrints the address to open. Off 127.0.0.1 every request needs the random token in that address;\nstate-changing requests must come from the page itself (same origin). Ctrl-C stops it (exit 0).',
    )
    .action(run(consoleCommand));

  program
    .command('bench')
    .description('a short publish/consume measurement against the configured backend')
    .option('-n, --count <n>', 'messages', intIn(1, 1_000_000), 1_000)
    .option('--size <bytes>', 'payload size', intIn(0, 16 * 1024 * 1024), 128)
    .option('--concurrency <n>', 'publishes in flight', intIn(1, 10_000), 64)
    .option('--subject <prefix>', 'subject prefix (a random token is appended)', subjectArg, 'omnibus.bench')
    .option('--timeout <ms>', 'give up waiting for deliveries after this long', intIn(100, 3_600_000), 30_000)
    .option('--json', 'print the result as JSON')
    .action(run(bench));

  try {
    await program.parseAsync(argv as string[], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    // an error's text may quote what came from the bus: no control sequence reaches the terminal
    const safe = errorLine(error)
      .split('\n')
      .map((line) => terminalSafe(printable(line)))
      .join('\n');
    io.stderr.write(`omnibus: ${safe}\n`);
    return exitCodeOf(error);
  }
  return exitCode;
}
