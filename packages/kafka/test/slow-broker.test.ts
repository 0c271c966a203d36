// A broker that answers, but slower than connectTimeoutMs: the create fails with a ConnectionError
// and nothing fires later. The client's own connect keeps going after the bus gave up on it; when
// it finished on a client already told to disconnect, the client threw "Ready callback called in
// invalid state" from an event listener: an unhandled rejection, which ends a Node process.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { ConnectionError } from '@omnibus/core';
import { withBroker } from '@omnibus/testing';
import { afterEach, expect, it } from 'vitest';
import { createKafkaBus } from '../src/index.js';

const DELAY_MS = 400;

/** A TCP proxy to `target` that holds every chunk `DELAY_MS` in each direction, order kept. */
async function slowProxy(target: string): Promise<{ address: string; close(): void }> {
  const [host, port] = target.split(':') as [string, string];
  const sockets = new Set<Socket>();
  const delayed = (from: Socket, to: Socket) => {
    from.on('data', (chunk) => void setTimeout(() => to.destroyed || to.write(chunk), DELAY_MS));
    from.on('close', () => void setTimeout(() => to.destroy(), DELAY_MS));
    from.on('error', () => undefined);
  };
  const server: Server = createServer((client) => {
    const upstream = createConnection(Number(port), host);
    for (const s of [client, upstream]) sockets.add(s);
    delayed(client, upstream);
    delayed(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

await withBroker('kafka', (kafka) => {
  it('a broker slower than connectTimeoutMs: a ConnectionError, and no unhandled rejection once the client connects after all', async () => {
    const proxy = await slowProxy(kafka.brokers[0] as string);
    closers.push(proxy.close);
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    process.on('uncaughtException', record);
    try {
      const error = await createKafkaBus({ brokers: [proxy.address], connectTimeoutMs: 1_200 }).then(
        async (bus) => {
          await bus.close();
          return new Error('a bus was created although connectTimeoutMs ran out');
        },
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConnectionError);
      // the client's own connect (bootstrap, metadata) finishes over the slow link meanwhile
      await new Promise((resolve) => setTimeout(resolve, 12 * DELAY_MS + 3_000));
      expect(unhandled.map((e) => String((e as Error)?.message ?? e))).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
      process.off('uncaughtException', record);
    }
  }, 30_000);
});
