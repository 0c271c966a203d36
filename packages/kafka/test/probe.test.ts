// What the first bytes of another service's answer say it is (see src/probe.ts).
import { describe, expect, it } from 'vitest';
import { identifyService } from '../src/probe.js';

describe('identifyService', () => {
  it.each([
    ['INFO {"server_id":"N1"}\r\n', 'a NATS server'],
    ['-ERR unknown command\r\n', 'a Redis server'],
    ['-NOAUTH Authentication required.\r\n', 'a Redis server'],
    ['+PONG\r\n', 'a Redis server'],
    ['HTTP/1.1 400 Bad Request\r\n', 'an HTTP server'],
    ['AMQP\u0000\u0000\u0009\u0001', 'an AMQP server (e.g. RabbitMQ)'],
    ['SSH-2.0-OpenSSH_9.6\r\n', 'an SSH server'],
    ['E\u0000\u0000\u0000\u0084SFATAL\u0000', 'a PostgreSQL server'],
    ['\u0015\u0003\u0003\u0000\u0002\u0002\u0046', 'a TLS listener'],
    ['\u0000\u0000\u0000\u0001x', 'a server that does not speak the Kafka protocol'],
  ])('%j is %s', (bytes, service) => {
    expect(identifyService(Buffer.from(bytes, 'latin1'))).toBe(service);
  });
});
