import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConfigError,
  ConnectionError,
  type EventBus,
  InvalidSubjectError,
  silentLogger,
} from '@omnibus/core';
import { withBroker } from '@omnibus/testing';
import { Connection } from 'rabbitmq-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRabbitMqBus } from '../src/index.js';
import { delayBucket } from '../src/rabbitmq-driver.js';
import { bindingKeyOf, routingKeyOf } from '../src/routing.js';
import { deleteBusObjects } from './rabbitmq-server.js';

describe('routing keys', () => {
  it('escapes "#" and "%" so a token is never an AMQP wildcard', () => {
    expect(routingKeyOf('a.#.c')).toBe('a.%23.c');
    expect(routingKeyOf('a.50%.c')).toBe('a.50%25.c');
    expect(bindingKeyOf('a.#.*')).toBe('a.%23.*');
  });
  it('maps ">" to "*.#": one token or more', () => {
    expect(bindingKeyOf('orders.>')).toBe('orders.*.#');
    expect(bindingKeyOf('>')).toBe('*.#');
  });
  it('shortens a long token the same way in a subject and a pattern', () => {
    const long = 'x'.repeat(100);
    expect(routingKeyOf(`a.${long}`)).toBe(bindingKeyOf(`a.${long}`));
    expect(routingKeyOf(`a.${long}`).length).toBeLessThan(40);
    expect(routingKeyOf(`a.${long}`)).not.toBe(routingKeyOf(`a.${'x'.repeat(99)}y`));
  });
  it('refuses a subject too long for a routing key with InvalidSubjectError', () => {
    const subject = Array.from({ length: 120 }, () => 'é').join('.');
    expect(() => routingKeyOf(subject)).toThrow(InvalidSubjectError);
  });
  it('rounds delays up to two significant digits, never down', () => {
    expect(delayBucket(0)).toBe(0);
    expect(delayBucket(57)).toBe(57);
    expect(delayBucket(401)).toBe(410);
    expect(delayBucket(30_000)).toBe(30_000);
    expect(delayBucket(12_345)).toBe(13_000);
  });
});

describe('options', () => {
  it('refuses unknown options and URL parameters with ConfigError, before connecting', async () => {
    await expect(createRabbitMqBus({ nope: 1 } as never)).rejects.toThrow(ConfigError);
    await expect(createRabbitMqBus({ url: 'amqp://127.0.0.1:1/?exchnge=x' })).rejects.toThrow(/url\.exchnge/);
    await expect(createRabbitMqBus({ url: 'http://127.0.0.1' })).rejects.toThrow(/scheme must be amqp/);
    await expect(createRabbitMqBus({ exchange: 'amq.topic' })).rejects.toThrow(/reserved/);
    for (const hosts of [[], ['[::1]:5672'], ['a:b'], [5672]])
      await expect(createRabbitMqBus({ connectionOptions: { hosts } as never })).rejects.toThrow(
        /connectionOptions\.hosts/,
      );
  });
  it('a broker that is not there: ConnectionError without the password', async () => {
    const error = await createRabbitMqBus({
      url: 'amqp://guest:s3cret-pass@127.0.0.1:1',
      connectTimeoutMs: 500,
      logger: silentLogger,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(String((error as Error).message)).not.toContain('s3cret-pass');
    expect(JSON.stringify(error)).not.toContain('s3cret-pass');
  });
});

await withBroker('rabbitmq', async (broker) => {
  const run = `omnibus-adapter-${process.pid}-${Date.now().toString(36)}`;
  afterAll(() => deleteBusObjects(broker.url, run));
  const buses: EventBus[] = [];
  const open = async () => {
    const bus = await createRabbitMqBus({
      url: broker.url,
      exchange: run,
      queuePrefix: `${run}.`,
      logger: silentLogger,
    });
    buses.push(bus);
    return bus;
  };
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });

  it('wrong credentials: ConnectionError that never shows the password', async () => {
    const url = new URL(broker.url);
    url.password = 'not-the-Password-42';
    const error = await createRabbitMqBus({
      url: url.toString(),
      connectTimeoutMs: 2_000,
      logger: silentLogger,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(`${(error as Error).message} ${JSON.stringify(error)}`).not.toContain('not-the-Password-42');
    expect((error as Error).message).toMatch(/: ACCESS_REFUSED - Login was refused/);
    expect((error as Error).message).not.toContain('undefined');
    expect((error as ConnectionError).hint).toMatch(/user name and password/);
  });

  it('connectionOptions.hosts: a host that is down is passed over, one that is not AMQP is a ConnectionError', async () => {
    const live = new URL(broker.url);
    const hosts = ['127.0.0.1:1', `${live.hostname}:${live.port || 5672}`];
    const bus = await createRabbitMqBus({
      url: broker.url,
      exchange: run,
      queuePrefix: `${run}.`,
      connectionOptions: { hosts },
      logger: silentLogger,
    });
    buses.push(bus);
    expect((await bus.health()).ok).toBe(true);
    // an HTTP server is no AMQP broker: named, and never reached by the client (which would crash)
    const http = createServer((_, res) => res.end('hello'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const port = (http.address() as AddressInfo).port;
    try {
      const error = await createRabbitMqBus({
        url: broker.url,
        connectionOptions: { hosts: [hosts[1] as string, `127.0.0.1:${port}`] },
        connectTimeoutMs: 2_000,
        logger: silentLogger,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toContain(`127.0.0.1:${port}: the server does not speak AMQP 0-9-1`);
    } finally {
      http.close();
    }
  });

  it('a literal "#" token is matched as a token, never as a wildcard', async () => {
    const bus = await open();
    const star: string[] = [];
    const literal: string[] = [];
    const other: string[] = [];
    await bus.consume('hash.*.end', (m) => void star.push(m.subject));
    await bus.consume('hash.#.end', (m) => void literal.push(m.subject));
    await bus.consume('hash.b.end', (m) => void other.push(m.subject));
    await bus.publish('hash.#.end', '1');
    await bus.publish('hash.b.end', '2');
    await bus.publish('hash.x.y.end', '3'); // AMQP's "#" would match this
    await waitUntil(() => star.length === 2 && literal.length === 1 && other.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(star.sort()).toEqual(['hash.#.end', 'hash.b.end']);
    expect(literal).toEqual(['hash.#.end']);
    expect(other).toEqual(['hash.b.end']);
  });

  it('a dead letter reaches no binding it does not match (a "*.*" subscriber sees none)', async () => {
    const bus = await open();
    const wide: string[] = [];
    await bus.consume('*.*', (m) => void wide.push(m.subject));
    await bus.consume(
      'dlw.x',
      () => {
        throw new Error('always');
      },
      { group: 'dl-wide', maxAttempts: 1 },
    );
    const dead: string[] = [];
    await bus.consume('dlq.dlw.x', (m) => void dead.push(m.subject));
    await bus.publish('dlw.x', 'poison');
    await waitUntil(() => dead.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(wide).toEqual(['dlw.x']);
  });

  it("an id longer than AMQP's 255-byte message-id arrives whole", async () => {
    const bus = await open();
    const id = `${'ü'.repeat(100)}-${'x'.repeat(100)}`;
    const got: string[] = [];
    await bus.consume('ids.long', (m) => void got.push(m.id));
    const receipt = await bus.publish('ids.long', 'x', { id });
    await waitUntil(() => got.length === 1);
    expect(receipt.id).toBe(id);
    expect(got).toEqual([id]);
  });

  it('a group queue that exists with the other type: ConfigError naming queueType, with a hint', async () => {
    const quorum = await createRabbitMqBus({
      url: broker.url,
      exchange: run,
      queuePrefix: `${run}.`,
      queueType: 'quorum',
      logger: silentLogger,
    });
    buses.push(quorum);
    await (await quorum.subscribe('types.x', { group: 'typed-q' })).close();
    const classic = await open();
    const error = await classic.subscribe('types.x', { group: 'typed-q' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('queueType');
    expect((error as ConfigError).hint).toContain('asked for "classic"');
  });

  it('a second pattern for the same group on one bus is a ConfigError', async () => {
    const bus = await open();
    await bus.consume('pat.a', () => undefined, { group: 'one-pattern' });
    await expect(bus.consume('pat.b', () => undefined, { group: 'one-pattern' })).rejects.toThrow(
      ConfigError,
    );
  });

  it('a dead letter nobody subscribes to is kept in the dead-letter store', async () => {
    const bus = await open();
    await bus.consume(
      'dl.kept',
      () => {
        throw new Error('always');
      },
      { group: 'dl-kept', maxAttempts: 1 },
    );
    await bus.publish('dl.kept', 'poison');
    const connection = new Connection(broker.url);
    try {
      await connection.onConnect(5_000);
      let found: string | undefined;
      await waitUntil(async () => {
        // the store holds the dead letters of every test of this run: look for this one
        const m = await connection.basicGet({ queue: `${run}.dead-letters`, noAck: true });
        if (m?.headers?.['omnibus-subject'] === 'dlq.dl.kept') found = 'dlq.dl.kept';
        return found !== undefined;
      });
      expect(found).toBe('dlq.dl.kept');
    } finally {
      await connection.close();
    }
  });
});

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
