import type { Readable } from 'node:stream';
import type { CommandContext } from '../context.js';
import { EXIT, UsageError } from '../errors.js';

/** Options of `omnibus publish`. */
export interface PublishCommandOptions {
  id?: string;
  header?: Record<string, string>;
  json?: boolean;
}

/** Reads a stream to its end, refusing more than `limit` bytes. */
async function readAll(stream: Readable, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > limit) throw new UsageError(`stdin holds more than ${limit} bytes: too large for one message`);
    chunks.push(buf);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * `omnibus publish <subject> [payload|-]`: the payload from the argument, or from stdin with
 * `-` (or when stdin is piped and no payload is given). Prints the receipt.
 */
export async function publish(
  ctx: CommandContext,
  subject: string,
  payloadArg: string | undefined,
  options: PublishCommandOptions,
): Promise<number> {
  const { stdin } = ctx.out.io;
  const fromStdin = payloadArg === '-' || (payloadArg === undefined && stdin.isTTY !== true);
  if (payloadArg === undefined && !fromStdin)
    throw new UsageError('no payload: give it as an argument, or "-" to read it from stdin');
  const bus = await ctx.bus();
  const payload = fromStdin ? await readAll(stdin, bus.capabilities.maxPayloadBytes) : (payloadArg as string);
  const receipt = await bus.publish(subject, payload, {
    ...(options.id !== undefined ? { id: options.id } : {}),
    ...(options.header ? { headers: options.header } : {}),
  });
  if (options.json) {
    ctx.out.line(JSON.stringify(receipt));
  } else {
    const { c } = ctx.out;
    const where = receipt.sequence ? ` (${receipt.sequence})` : '';
    ctx.out.line(
      receipt.duplicate
        ? `${c.yellow('duplicate')} ${receipt.id} on ${receipt.subject}: already stored, not delivered again`
        : `published ${c.gray(receipt.id)} to ${c.cyan(receipt.subject)}${where}`,
    );
  }
  return EXIT.ok;
}
