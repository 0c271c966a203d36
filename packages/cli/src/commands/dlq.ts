import { createInterface } from 'node:readline';
import { DEFAULT_DEAD_LETTERS, type DeadLetterReport, type DeadLetterSelection, manage } from '@omnibus/core';
import type { CommandContext } from '../context.js';
import { CommandError, EXIT, UsageError } from '../errors.js';
import {
  deadLetterColumns,
  deadLetterJson,
  duration,
  headersInline,
  payloadText,
  plural,
  printable,
  table,
} from '../format.js';
import { progressBar } from '../progress.js';

/** The selection options every `dlq` command shares. */
export interface SelectionOptions {
  in?: string;
  subject?: string;
  group?: string;
  error?: string;
  since?: number;
  until?: number;
  ref?: string[];
}

/** The core selection from the command-line options. */
export function selectionOf(options: SelectionOptions): DeadLetterSelection {
  return {
    ...(options.in !== undefined ? { in: options.in } : {}),
    ...(options.subject !== undefined ? { subject: options.subject } : {}),
    ...(options.group !== undefined ? { group: options.group } : {}),
    ...(options.error !== undefined ? { error: options.error } : {}),
    ...(options.since !== undefined ? { since: options.since } : {}),
    ...(options.until !== undefined ? { until: options.until } : {}),
    ...(options.ref !== undefined ? { refs: options.ref } : {}),
  };
}

/** The selection in words, for summaries and the purge prompt. */
function describe(options: SelectionOptions): string {
  const parts: string[] = [];
  if (options.subject) parts.push(`subject ${options.subject}`);
  if (options.group) parts.push(`group ${options.group}`);
  if (options.error) parts.push(`error containing ${JSON.stringify(options.error)}`);
  if (options.since !== undefined) parts.push(`since ${new Date(options.since).toISOString()}`);
  if (options.until !== undefined) parts.push(`until ${new Date(options.until).toISOString()}`);
  if (options.ref) parts.push(plural(options.ref.length, 'ref'));
  const where = `in ${options.in ?? DEFAULT_DEAD_LETTERS}`;
  return parts.length ? `${where} matching ${parts.join(', ')}` : where;
}

/** Options of `omnibus dlq list`. */
export interface ListOptions extends SelectionOptions {
  json?: boolean;
  limit?: number;
  after?: string;
  all?: boolean;
}

/** `omnibus dlq list`: a page of dead letters (oldest first), or all of them with `--all`. */
export async function dlqList(ctx: CommandContext, options: ListOptions): Promise<number> {
  const admin = manage(await ctx.bus());
  const selection = selectionOf(options);
  const limit = options.limit ?? 100;
  const items = [];
  let after = options.after;
  let next: string | undefined;
  for (;;) {
    const page = await admin.deadLetters.list({ ...selection, limit, ...(after ? { after } : {}) });
    items.push(...page.items);
    next = page.next;
    if (!options.all || next === undefined) break;
    after = next;
  }
  if (options.json) {
    for (const dl of items) ctx.out.line(JSON.stringify(deadLetterJson(dl)));
  } else if (items.length === 0) {
    ctx.out.note(ctx.out.ce.dim(`no dead letters ${describe(options)}`));
  } else {
    for (const line of table(items, deadLetterColumns(ctx.out.c), ctx.out.c)) ctx.out.line(line);
  }
  if (next !== undefined)
    ctx.out.note(ctx.out.ce.dim(`more: add --after ${next} for the next page, or --all for every one`));
  return EXIT.ok;
}

/** `omnibus dlq show <ref>`: one dead letter, every header, the whole payload. */
export async function dlqShow(
  ctx: CommandContext,
  ref: string,
  options: { in?: string; json?: boolean },
): Promise<number> {
  const admin = manage(await ctx.bus());
  const dl = await admin.deadLetters.show(ref, options.in ? { in: options.in } : {});
  if (!dl) throw new CommandError(`no dead letter ${ref} ${describe({ in: options.in })}`);
  if (options.json) {
    ctx.out.line(JSON.stringify(deadLetterJson(dl)));
    return EXIT.ok;
  }
  const { c } = ctx.out;
  const field = (name: string, value: string) => ctx.out.line(`${c.bold(name.padEnd(14))} ${value}`);
  field('ref', printable(dl.ref));
  field('id', printable(dl.id));
  field('subject', c.cyan(printable(dl.subject)));
  field('stored in', printable(dl.deadLetterSubject));
  field('group', printable(dl.group ?? '–'));
  field('at', new Date(dl.at).toISOString());
  field('attempts', String(dl.attempts));
  field('redrives', String(dl.redriveCount));
  field('reason', printable(dl.reason));
  field('error', c.red(printable(dl.error ?? '–')));
  field('headers', headersInline(dl.headers) || '–');
  const text = payloadText(dl.payload);
  field(
    'payload',
    text === undefined ? `${dl.payload.length} bytes, base64:` : `${dl.payload.length} bytes:`,
  );
  // a carriage return alone would let the rest of a line overwrite what came before it
  ctx.out.line(text?.replace(/\r(?!\n)/g, '\\r') ?? Buffer.from(dl.payload).toString('base64'));
  return EXIT.ok;
}

/** Options of `omnibus dlq redrive`. */
export interface RedriveCommandOptions extends SelectionOptions {
  to?: string;
  rate?: number;
  dryRun?: boolean;
  json?: boolean;
}

function reportJson(kind: string, report: DeadLetterReport): string {
  return JSON.stringify({
    command: kind,
    selected: report.selected,
    done: report.done,
    skipped: report.skipped,
    pendingRemoval: report.pendingRemoval,
    dryRun: report.dryRun,
    stopped: report.stopped,
    elapsedMs: report.elapsedMs,
    listed: report.listed.map(deadLetterJson),
    skippedListed: report.skippedListed,
  });
}

/** The redrive's skipped dead letters, a line each: where they point and why no publish would take them. */
function skippedLines(report: DeadLetterReport): string[] {
  if (report.skipped === 0) return [];
  const more = report.skipped - report.skippedListed.length;
  return [
    `${plural(report.skipped, 'dead letter')} skipped, left where they are (their copy would be refused; redrive them with --to, or purge them):`,
    ...report.skippedListed.map(
      (s) => `  ${printable(s.ref)}  ${printable(s.subject)}: ${printable(s.reason)}`,
    ),
    ...(more > 0 ? [`  … and ${more} more`] : []),
  ];
}

/** What a stopped run left behind, in words. */
function stoppedTail(report: DeadLetterReport, verb: string): string {
  const both =
    report.pendingRemoval > 0
      ? `; ${plural(report.pendingRemoval, 'message')} republished and still dead-lettered too (a second redrive delivers them again)`
      : '';
  return `${both}; every other selected dead letter is still there — run the command again to go on (nothing was lost: each message is ${verb})`;
}

/**
 * `omnibus dlq redrive`: republishes the selected dead letters (to their original subject, or
 * `--to`), paced by `--rate`, each removed only after its republish was acknowledged. SIGINT
 * stops it between messages: the summary says what moved; exit 130.
 */
export async function dlqRedrive(ctx: CommandContext, options: RedriveCommandOptions): Promise<number> {
  const admin = manage(await ctx.bus());
  ctx.handlesInterrupt = true;
  const selection = selectionOf(options);
  const { signal } = ctx;
  const dryRun = options.dryRun === true;
  // the bar needs a total: count first (a dry run), only when a bar can be shown at all
  let total: number | undefined;
  if (!dryRun && !options.json && ctx.out.interactiveErr) {
    const counted = await admin.deadLetters.redrive(selection, { dryRun: true, maxListed: 0, signal });
    total = counted.selected;
  }
  const bar = progressBar(ctx.out, 'redrive', total ?? 0, { rate: options.rate ?? 0 });
  let report: DeadLetterReport;
  try {
    report = await admin.deadLetters.redrive(selection, {
      ...(options.to !== undefined ? { to: options.to } : {}),
      rate: options.rate ?? 0,
      dryRun,
      signal,
      maxListed: dryRun ? 1_000 : 0,
      onProgress: (p) => bar.update(p.done, p.selected),
    });
  } finally {
    bar.stop();
  }
  if (signal.aborted && !report.stopped) report = { ...report, stopped: true };
  if (options.json) {
    ctx.out.line(reportJson('redrive', report));
    return report.stopped ? EXIT.interrupted : EXIT.ok;
  }
  const { c } = ctx.out;
  const target = options.to ? `to ${options.to}` : 'to their original subjects';
  if (dryRun) {
    if (report.listed.length > 0)
      for (const line of table(report.listed, deadLetterColumns(c), c)) ctx.out.line(line);
    ctx.out.line(
      `dry run: would redrive ${plural(report.selected - report.skipped, 'dead letter')} ${describe(options)} ${target}; nothing changed`,
    );
    for (const line of skippedLines(report)) ctx.out.line(line);
  } else if (report.stopped) {
    ctx.out.line(
      `${c.yellow('interrupted')}: redrove ${report.done} of ${report.selected} selected so far ${target} in ${duration(report.elapsedMs)}${stoppedTail(report, 'dead-lettered, republished, or both')}`,
    );
  } else if (report.selected === 0) {
    ctx.out.line(`no dead letters ${describe(options)}: nothing to redrive`);
  } else {
    const rate =
      report.elapsedMs > 0 ? ` (${Math.round((report.done * 1000) / report.elapsedMs)} msg/s)` : '';
    ctx.out.line(
      `${c.green('redrove')} ${plural(report.done, 'dead letter')} ${target} in ${duration(report.elapsedMs)}${rate}` +
        (report.pendingRemoval > 0
          ? `; ${report.pendingRemoval} republished but could not be removed from the dead letters`
          : ''),
    );
    for (const line of skippedLines(report)) ctx.out.line(line);
  }
  if (report.stopped) return EXIT.interrupted;
  return report.pendingRemoval > 0 || (!dryRun && report.skipped > 0) ? EXIT.error : EXIT.ok;
}

/** Asks on the terminal; true for y/yes. */
async function confirm(ctx: CommandContext, question: string): Promise<boolean> {
  const rl = createInterface({ input: ctx.out.io.stdin, output: ctx.out.io.stderr });
  try {
    const answer = await new Promise<string>((resolve) => {
      const onAbort = () => resolve('');
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      rl.question(question, (a) => {
        ctx.signal.removeEventListener('abort', onAbort);
        resolve(a);
      });
      rl.once('close', () => resolve(''));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Options of `omnibus dlq purge`. */
export interface PurgeCommandOptions extends SelectionOptions {
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * `omnibus dlq purge`: removes the selected dead letters after asking (y/N on a terminal);
 * `--yes` skips the question, and is required when stdin is not a terminal.
 */
export async function dlqPurge(ctx: CommandContext, options: PurgeCommandOptions): Promise<number> {
  const admin = manage(await ctx.bus());
  ctx.handlesInterrupt = true;
  const selection = selectionOf(options);
  const { signal } = ctx;
  const counted = await admin.deadLetters.purge(selection, {
    dryRun: true,
    signal,
    maxListed: options.dryRun ? 1_000 : 0,
  });
  if (signal.aborted) return EXIT.interrupted;
  const { c } = ctx.out;
  if (options.dryRun) {
    if (options.json) ctx.out.line(reportJson('purge', counted));
    else {
      if (counted.listed.length > 0)
        for (const line of table(counted.listed, deadLetterColumns(c), c)) ctx.out.line(line);
      ctx.out.line(
        `dry run: would purge ${plural(counted.selected, 'dead letter')} ${describe(options)}; nothing changed`,
      );
    }
    return EXIT.ok;
  }
  if (counted.selected === 0) {
    if (options.json) ctx.out.line(reportJson('purge', counted));
    else ctx.out.line(`no dead letters ${describe(options)}: nothing to purge`);
    return EXIT.ok;
  }
  if (!options.yes) {
    if (ctx.out.io.stdin.isTTY !== true)
      throw new UsageError(
        `purge would remove ${plural(counted.selected, 'dead letter')} ${describe(options)}; stdin is not a terminal to confirm on: add --yes`,
      );
    const ok = await confirm(
      ctx,
      `Purge ${plural(counted.selected, 'dead letter')} ${describe(options)}? They cannot be recovered. [y/N] `,
    );
    if (signal.aborted) return EXIT.interrupted;
    if (!ok) throw new CommandError('not confirmed: nothing purged');
  }
  const bar = progressBar(ctx.out, 'purge', counted.selected, { minItems: 500 });
  let report: DeadLetterReport;
  try {
    // exactly what was counted (and confirmed): not what was dead-lettered while the question was open
    report = await admin.deadLetters.purge(
      { ...selection, refs: counted.refs ?? [] },
      {
        signal,
        maxListed: 0,
        onProgress: (p) => bar.update(p.done, p.selected),
      },
    );
  } finally {
    bar.stop();
  }
  if (options.json) ctx.out.line(reportJson('purge', report));
  else if (report.stopped)
    ctx.out.line(
      `${c.yellow('interrupted')}: purged ${report.done} of ${report.selected} selected so far; the others are still there`,
    );
  else ctx.out.line(`${c.green('purged')} ${plural(report.done, 'dead letter')} ${describe(options)}`);
  return report.stopped ? EXIT.interrupted : EXIT.ok;
}
