import type { Message, StartPosition } from '@omnibus/core';
import type { CommandContext } from '../context.js';
import { EXIT, UsageError } from '../errors.js';
import { headersInline, payloadJson, payloadPreview, printable } from '../format.js';

/** Options of `omnibus tail`. */
export interface TailOptions {
  json?: boolean;
  from?: StartPosition;
  /** Stop after this many messages. */
  count?: number;
  /** Characters of payload preview. */
  preview?: number;
}

function textLine(ctx: CommandContext, m: Message, preview: number): string {
  const { c } = ctx.out;
  const headers = headersInline(m.headers);
  return [
    c.dim(m.publishedAt.toISOString()),
    c.cyan(printable(m.subject)),
    c.gray(printable(m.id)),
    m.attempt > 1 ? c.yellow(`attempt=${m.attempt}`) : `attempt=${m.attempt}`,
    ...(headers ? [c.magenta(`[${headers}]`)] : []),
    payloadPreview(m.payload, preview),
  ].join('  ');
}

function jsonLine(m: Message): string {
  return JSON.stringify({
    time: m.publishedAt.toISOString(),
    subject: m.subject,
    id: m.id,
    attempt: m.attempt,
    headers: m.headers,
    size: m.payload.length,
    ...payloadJson(m.payload),
  });
}

/**
 * `omnibus tail <pattern>`: an ungrouped subscription (it takes nothing away from any group),
 * one line per message, until SIGINT or `--count`. Exits 0 when stopped.
 */
export async function tail(ctx: CommandContext, pattern: string, options: TailOptions): Promise<number> {
  const bus = await ctx.bus();
  // another process's in-memory bus cannot be reached: this one's own is empty, and waiting on it
  // would keep nothing alive (Node would end the process with exit code 13, saying nothing)
  if (bus.backend === 'memory')
    throw new UsageError(
      'memory:// is this process’s own bus, empty: nothing could ever arrive. Tail a broker (nats://, redis://, kafka://, amqp://), or read your service’s in-memory bus inside it (startConsole({ bus }) from @omnibus/cli)',
    );
  ctx.handlesInterrupt = true;
  if (ctx.signal.aborted) return EXIT.ok;
  const from = options.from ?? 'new';
  const sub = await bus.subscribe(pattern, { from, signal: ctx.signal });
  const preview = options.preview ?? 120;
  if (!options.json && ctx.out.interactiveErr)
    ctx.out.note(ctx.out.ce.dim(`tailing ${pattern} on ${bus.backend} (Ctrl-C to stop)`));
  let seen = 0;
  for await (const m of sub) {
    ctx.out.line(options.json ? jsonLine(m) : textLine(ctx, m, preview));
    seen++;
    if (options.count !== undefined && seen >= options.count) break;
  }
  await sub.close();
  return EXIT.ok;
}
