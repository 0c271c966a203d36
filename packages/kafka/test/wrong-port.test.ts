// Pointed at another service's port, a Kafka bus fails fast with a ConnectionError that names the
// likely cause and says what to do — not `Closed connection`, nor a timeout after connectTimeoutMs.
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { ConnectionError, formatError } from '@omnibus/core';
import { withBroker } from '@omnibus/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createKafkaBus } from '../src/index.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

/** Listens on a spare port of 127.0.0.1; every accepted socket is destroyed after the test. */
async function listen(server: Server, onSocket: (socket: Socket) => void = () => undefined): Promise<string> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** Creates a bus against `broker` with a long connectTimeoutMs: the error must come well before it. */
async function createAgainst(broker: string): Promise<{ error: ConnectionError; ms: number }> {
  const started = Date.now();
  const error = await createKafkaBus({ brokers: [broker], connectTimeoutMs: 15_000 }).then(
    async (bus) => {
      await bus.close();
      throw new Error(`a bus was created against ${broker}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectionError);
  return { error: error as ConnectionError, ms: Date.now() - started };
}

function expectWrongPortHint(error: ConnectionError, broker: string): void {
  expect(error.hint).toContain(`is ${broker} another service's port`);
  expect(error.hint).toContain('Kafka listens on 9092 by default');
  expect(formatError(error)).not.toContain('undefined');
}

await withBroker('redis', (redis) => {
  it('the Redis port: names Redis and says what to do, within 3 s (Redis says nothing to a Kafka request)', async () => {
    const broker = redis.brokers[0] as string;
    const { error, ms } = await createAgainst(broker);
    expect(error.message).toContain(
      `cannot connect to ${broker}: the server there answered as a Redis server, not as a Kafka broker`,
    );
    expectWrongPortHint(error, broker);
    expect(ms).toBeLessThan(3_000);
  });
});

await withBroker('nats', (nats) => {
  it('the NATS port: names NATS and says what to do, at once', async () => {
    const broker = nats.brokers[0] as string;
    const { error, ms } = await createAgainst(broker);
    expect(error.message).toContain(
      `cannot connect to ${broker}: the server there answered as a NATS server, not as a Kafka broker`,
    );
    expect(error.message).not.toContain('Closed connection');
    expectWrongPortHint(error, broker);
    expect(ms).toBeLessThan(1_500);
  });
});

describe('other ports', () => {
  it('an HTTP port: names HTTP, at once', async () => {
    const broker = await listen(createHttpServer((_req, res) => res.end('ok')));
    const { error, ms } = await createAgainst(broker);
    expect(error.message).toContain('the server there answered as an HTTP server, not as a Kafka broker');
    expectWrongPortHint(error, broker);
    expect(ms).toBeLessThan(1_500);
  });

  it('a port that closes every connection unanswered: says so, and suggests TLS too', async () => {
    const broker = await listen(createServer(), (socket) => socket.destroy());
    const { error } = await createAgainst(broker);
    expect(error.message).toContain(
      'the server there closed the connection without answering a Kafka request',
    );
    expectWrongPortHint(error, broker);
    expect(error.hint).toContain('kafka+ssl://');
  });

  it('a port that accepts and never answers: says so when connectTimeoutMs runs out', async () => {
    const broker = await listen(createServer());
    const error = await createKafkaBus({ brokers: [broker], connectTimeoutMs: 1_500 }).catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toContain(
      'the server there accepted the connection but did not answer a Kafka request',
    );
    expectWrongPortHint(error, broker);
    expect(error.hint).toContain('connectTimeoutMs');
  });

  it('a closed port: nothing is listening there, with a hint', async () => {
    const error = await createKafkaBus({ brokers: ['127.0.0.1:1'], connectTimeoutMs: 3_000 }).catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toContain(
      'cannot connect to 127.0.0.1:1: nothing is listening there (connection refused)',
    );
    expect(error.hint).toContain('start Kafka there');
    expect(error.hint).toContain('Kafka listens on 9092 by default');
    expect(formatError(error)).not.toContain('undefined');
  });

  it('several brokers, none of them Kafka: each is named with what answered there, at once', async () => {
    const http = await listen(createHttpServer((_req, res) => res.end('ok')));
    const greeter = await listen(createServer(), (socket) => socket.write('SSH-2.0-OpenSSH_9.6\r\n'));
    const started = Date.now();
    const error = await createKafkaBus({ brokers: [http, greeter], connectTimeoutMs: 15_000 }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toContain(
      `${http} answered as an HTTP server, not as a Kafka broker; ${greeter} answered as an SSH server`,
    );
    expectWrongPortHint(error, `${http}, ${greeter}`);
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});
