// Fast tests: option validation and first-connection errors. No NATS server needed.
import { createServer, type Server, type Socket } from 'node:net';
import { ConfigError, ConnectionError } from '@omnibus/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createNatsBus } from '../src/index.js';
import { resolveNatsOptions } from '../src/options.js';

describe('option names', () => {
  it('refuses an option name it does not know, naming it', () => {
    // @ts-expect-error a misspelt option is a compile error too
    const call = () => resolveNatsOptions({ strams: [] });
    expect(call).toThrow(ConfigError);
    expect(call).toThrow(expect.objectContaining({ field: 'strams', backend: 'nats' }));
    expect(call).toThrow(/did you mean "streams"/);
  });

  it('refuses unknown stream settings in streams and streamDefaults', () => {
    // @ts-expect-error maxAge is not a stream setting (maxAgeMs is)
    expect(() => resolveNatsOptions({ streamDefaults: { maxAge: 1000 } })).toThrow(
      expect.objectContaining({ field: 'streamDefaults.maxAge' }),
    );
    expect(() =>
      // @ts-expect-error subject (singular) is a typo of subjects
      resolveNatsOptions({ streams: [{ name: 'ALL', subjects: ['>'], subject: 'x' }] }),
    ).toThrow(expect.objectContaining({ field: 'streams[0].subject' }));
    expect(() =>
      resolveNatsOptions({ streams: [{ name: 'EVENTS', subjects: ['*.created'], storage: 'memory' }] }),
    ).not.toThrow();
  });

  it("refuses a stream that would capture the server's own subjects ($JS.API.…, _INBOX.…)", () => {
    for (const subjects of [['>'], ['*.>'], ['orders.>', '*.*.>'], ['_INBOX.>']]) {
      expect(() => resolveNatsOptions({ streams: [{ name: 'ALL', subjects }] })).toThrow(
        expect.objectContaining({ code: 'CONFIG', field: 'streams[0].subjects' }),
      );
    }
    expect(() =>
      resolveNatsOptions({
        streams: [{ name: 'OK', subjects: ['orders.>', '*.created', 'billing.*.paid'] }],
      }),
    ).not.toThrow();
  });

  it('discoveryIntervalMs: at least 100 ms', () => {
    expect(resolveNatsOptions({}).discoveryIntervalMs).toBe(2_000);
    expect(() => resolveNatsOptions({ discoveryIntervalMs: 50 })).toThrow(
      expect.objectContaining({ field: 'discoveryIntervalMs' }),
    );
  });

  it('createNatsBus rejects before connecting', async () => {
    await expect(
      createNatsBus({ url: 'nats://127.0.0.1:1', pullExpiresMS: 2000 } as never),
    ).rejects.toMatchObject({
      code: 'CONFIG',
      field: 'pullExpiresMS',
    });
  });

  it('validates connectTimeoutMs', () => {
    expect(() => resolveNatsOptions({ connectTimeoutMs: 0 })).toThrow(
      expect.objectContaining({ field: 'connectTimeoutMs' }),
    );
    expect(resolveNatsOptions({}).connectTimeoutMs).toBe(5_000);
  });
});

describe('first connection errors say what was reached', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  async function listen(onConnection: (socket: Socket) => void): Promise<number> {
    server = createServer(onConnection);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    return address.port;
  }

  it('a port that accepts TCP but never speaks NATS (a Redis port) fails within connectTimeoutMs', async () => {
    const sockets: Socket[] = [];
    const port = await listen((socket) => void sockets.push(socket)); // silent, like Redis before a command
    const started = Date.now();
    const error = await createNatsBus({
      url: `nats://bob:hunter2@127.0.0.1:${port}`,
      connectTimeoutMs: 300,
    }).catch((e) => e);
    for (const s of sockets) s.destroy();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toContain(
      `127.0.0.1:${port} accepted a TCP connection but sent no NATS greeting within 300 ms`,
    );
    expect(error.hint).toContain('connectTimeoutMs');
    expect(`${error.message} ${error.hint} ${error.cause?.message} ${error.cause?.stack}`).not.toContain(
      'hunter2',
    );
  });

  it('a port that answers another protocol is named as such', async () => {
    const port = await listen((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const error = await createNatsBus({ url: `nats://127.0.0.1:${port}`, connectTimeoutMs: 2_000 }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toContain('answered, but not as a NATS server');
  });

  it('a closed port says nothing is listening', async () => {
    const error = await createNatsBus({ url: 'nats://127.0.0.1:1', connectTimeoutMs: 2_000 }).catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toContain('nothing is listening at nats://127.0.0.1:1');
  });
});
