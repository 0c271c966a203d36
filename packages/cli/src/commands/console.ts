import { startConsole } from '../console/start-console.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../errors.js';

/** Options of `omnibus console`. */
export interface ConsoleCommandOptions {
  port: number;
  host: string;
  /** Require a token even on loopback. */
  token?: boolean;
}

/**
 * `omnibus console`: serves the web console for the configured bus until SIGINT/SIGTERM (exit 0).
 * Prints the address to open (with its access token when one is required) on stdout.
 */
export async function consoleCommand(ctx: CommandContext, options: ConsoleCommandOptions): Promise<number> {
  const bus = await ctx.bus();
  ctx.handlesInterrupt = true;
  if (ctx.signal.aborted) return EXIT.ok;
  const server = await startConsole({
    bus,
    host: options.host,
    port: options.port,
    ...(options.token ? { token: true } : {}),
    busUrl: ctx.url,
    ownBus: true,
  });
  ctx.out.line(`omnibus console for the ${bus.backend} bus: ${server.url}`);
  if (server.host === '0.0.0.0' || server.host === '::')
    ctx.out.note(
      ctx.out.ce.yellow(
        `omnibus: listening on every address: open it with this machine's name or address in place of ${server.host}`,
      ),
    );
  if (bus.backend === 'memory')
    ctx.out.note(
      ctx.out.ce.yellow(
        'omnibus: memory:// is this process’s own bus, empty: start the console inside your service with startConsole({ bus }) to see its messages',
      ),
    );
  if (ctx.out.interactiveErr) ctx.out.note(ctx.out.ce.dim('Ctrl-C stops it'));
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  return EXIT.ok;
}
