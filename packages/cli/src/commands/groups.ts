import { type GroupInfo, manage } from '@omnibus/core';
import type { CommandContext } from '../context.js';
import { EXIT } from '../errors.js';
import { figure, table } from '../format.js';

/** Options of `omnibus groups`. */
export interface GroupsOptions {
  json?: boolean;
  watch?: boolean;
  /** Refresh interval of `--watch`, ms. */
  interval?: number;
  /** Only groups whose name contains this text. */
  filter?: string;
}

function render(ctx: CommandContext, groups: readonly GroupInfo[]): string[] {
  const { c } = ctx.out;
  if (groups.length === 0) return [c.dim('no consumer groups')];
  const warn = (value: number | undefined) => (t: string) =>
    value !== undefined && value > 0 ? c.yellow(t) : t;
  return table(
    groups,
    [
      { header: 'GROUP', cell: (g) => g.group, color: (t) => c.cyan(t) },
      { header: 'PATTERN', cell: (g) => g.patterns.join(', ') || '–' },
      { header: 'MEMBERS', cell: (g) => figure(g.members), align: 'right' },
      {
        header: 'PENDING',
        cell: (g) => figure(g.pending),
        align: 'right',
        color: (t, g) => warn(g.pending)(t),
      },
      { header: 'LAG', cell: (g) => figure(g.lag), align: 'right', color: (t, g) => warn(g.lag)(t) },
      {
        header: 'REDELIVERED',
        cell: (g) => figure(g.redelivered),
        align: 'right',
        color: (t, g) => warn(g.redelivered)(t),
      },
    ],
    c,
  );
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * `omnibus groups`: every consumer group with members, pending, lag and redelivered (`–` where
 * the broker cannot tell). `--watch` refreshes until SIGINT (exit 0): redrawn in place on a
 * terminal, a time line and the table again each time when piped (one JSON line per group with
 * `--json`).
 */
export async function groups(ctx: CommandContext, options: GroupsOptions): Promise<number> {
  const bus = await ctx.bus();
  ctx.handlesInterrupt = options.watch === true;
  const admin = manage(bus);
  const redraw = options.watch && ctx.out.io.stdout.isTTY === true && !options.json;
  const interval = options.interval ?? 2_000;
  for (;;) {
    const now = new Date();
    let list = await admin.groups();
    if (options.filter) list = list.filter((g) => g.group.includes(options.filter as string));
    list.sort((a, b) => a.group.localeCompare(b.group));
    if (options.json) {
      if (options.watch)
        for (const g of list) ctx.out.line(JSON.stringify({ time: now.toISOString(), ...g }));
      else ctx.out.line(JSON.stringify(list));
    } else {
      const lines = render(ctx, list);
      if (redraw) ctx.out.io.stdout.write('\x1b[H\x1b[2J');
      if (options.watch)
        lines.unshift(
          ctx.out.c.dim(`${now.toISOString()}  ${bus.backend}, every ${interval / 1000} s (Ctrl-C to stop)`),
        );
      for (const line of lines) ctx.out.line(line);
    }
    if (!options.watch) return EXIT.ok;
    await sleep(interval, ctx.signal);
    if (ctx.signal.aborted) return EXIT.ok;
  }
}
