// A blocking read the member gave up on (no answer within its limit) can still reach the server
// and be served: its entries go to this member's pending list, the reply nowhere. The read loop
// must take them back before reading on, or they come again only after the ack timeout, behind
// newer ones (seen in the Redis Cluster fault row: a read sent just as the node froze). Here a
// proxy holds the read connection's bytes instead, while the server runs on.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { uniquePrefix, waitFor } from '@omnibus/testing';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { createRedisBus } from '../src/index.js';
import { Keys } from '../src/keys.js';
import { createGroup, ReadLoop } from '../src/read-loop.js';
import { withScripts } from '../src/scripted.js';
import { startRedisServer } from './redis-server.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP proxy to `port` that can hold what clients send (all of it, in order) until released. */
async function holdingProxy(
  port: number,
): Promise<{ port: number; hold(): void; release(): void; close(): Promise<void> }> {
  let holding = false;
  const held: (() => void)[] = [];
  const sockets = new Set<Socket>();
  const forward = (step: () => void) => (holding ? held.push(step) : step());
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
    }
    upstream.pipe(client); // answers are never held
    upstream.on('close', () => client.destroy());
    client.on('data', (chunk) => forward(() => upstream.write(chunk)));
    client.on('end', () => forward(() => upstream.end()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    hold: () => {
      holding = true;
    },
    release: () => {
      holding = false;
      for (const step of held.splice(0)) step();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

it('a read given up on but served afterwards is taken back before newer entries: in order, attempt 1', async () => {
  const { got } = await readHeldThenServed({ ackTimeoutMs: 30_000 });
  expect(got).toEqual(['warm@1', 'one@1', 'two@1']);
}, 60_000);

it('a server whose ACL refuses CLIENT LIST and KILL: reported once, and the subscription reads on (what the late read took comes back after the ack timeout)', async () => {
  const { got, statuses } = await readHeldThenServed({
    ackTimeoutMs: 2_000,
    args: ['--user', 'default', 'on', 'nopass', '~*', '&*', '+@all', '-client|list', '-client|kill'],
  });
  expect(got.map((g) => g.split('@')[0]).sort()).toEqual(['one', 'two', 'warm']);
  expect(statuses.filter((s) => s === 'read_close_refused')).toHaveLength(1);
}, 60_000);

/**
 * A loop whose blocking read is held by a proxy: 'warm' is handled, the next read is held and
 * given up, 'one' is published meanwhile, the proxy lets the held read through, then 'two'.
 */
async function readHeldThenServed(options: {
  ackTimeoutMs: number;
  args?: string[];
}): Promise<{ got: string[]; statuses: string[] }> {
  const server = await startRedisServer(options.args ? { args: options.args } : {});
  cleanups.push(() => server.dispose());
  const proxy = await holdingProxy(server.port);
  cleanups.push(() => proxy.close());
  const keyPrefix = uniquePrefix();
  const keys = new Keys(keyPrefix);
  const stream = keys.stream('late.a');
  const shared = withScripts(new Redis(server.url, { maxRetriesPerRequest: null }));
  cleanups.push(async () => shared.disconnect());
  const readConnectionName = 'omnibus-read-late-test';
  // the loop's blocking reads go through the proxy; everything else goes straight to the server
  const blocking = new Redis(`redis://127.0.0.1:${proxy.port}`, {
    lazyConnect: true,
    enableAutoPipelining: false,
    maxRetriesPerRequest: 0,
    connectionName: readConnectionName,
  });
  blocking.on('error', () => undefined);
  await createGroup(shared, keys, stream, 'g', '0');
  const got: string[] = [];
  const statuses: string[] = [];
  const loop = new ReadLoop(
    {
      client: shared,
      blocking,
      readConnectionName,
      keys,
      group: 'g',
      consumer: 'member-1',
      grouped: true,
      sink: {
        capacity: 10,
        push: (d) => {
          got.push(`${Buffer.from(d.payload).toString()}@${d.attempt}`);
          void d.ack({ reason: 'ack', handedOut: true });
        },
        onCapacity: () => undefined,
        reportError: () => undefined,
      },
      blockMs: 500,
      ackTimeoutMs: options.ackTimeoutMs,
      countTrimmed: () => undefined,
      wakeGroup: () => undefined,
      startPositions: async (streams) => streams.map(() => '0'),
      status: (type) => statuses.push(type),
      connectionEpoch: () => 0,
    },
    [stream],
  );
  await loop.start();
  cleanups.push(async () => {
    await loop.stop();
    loop.disconnect();
  });
  const publisher = await createRedisBus({ url: server.url, keyPrefix });
  cleanups.push(() => publisher.close({ timeoutMs: 1_000 }));
  await publisher.publish('late.a', 'warm');
  await waitFor(() => got.length === 1, 'warm handled', 5_000);
  proxy.hold();
  await sleep(700); // the read waiting on the server ends (500 ms); the next one is held
  await publisher.publish('late.a', 'one');
  // the held read is given up (500 ms + 5 s) and the loop looks for what a lost reply took: nothing yet
  await sleep(5_600);
  proxy.release(); // the given-up read reaches the server now, unless the loop closed it
  await sleep(300);
  await publisher.publish('late.a', 'two');
  // without the take-back, 'one' comes only when the reclaim finds it idle past the ack timeout
  await waitFor(() => got.length >= 3, 'three handled', 15_000).catch(() => undefined);
  return { got, statuses };
}
