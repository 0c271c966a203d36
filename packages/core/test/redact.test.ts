import { describe, expect, it } from 'vitest';
import { ConfigError, ConnectionError, formatError, redact, safeCause } from '../src/index.js';

describe('redact: userinfo of anything shaped like user:pass@host', () => {
  const secret = 'hunter2';
  const cases: [string, string][] = [
    ['nats://bob:hunter2@127.0.0.1:4222', 'nats://***@127.0.0.1:4222'],
    ['nats//bob:hunter2@127.0.0.1:4222', 'nats//***@127.0.0.1:4222'],
    ['nats:/bob:hunter2@127.0.0.1:4222', '***@127.0.0.1:4222'],
    ['//bob:hunter2@127.0.0.1:4222', '//***@127.0.0.1:4222'],
    ['nats:bob:hunter2@127.0.0.1:4222', '***@127.0.0.1:4222'],
    ['bob:hunter2@127.0.0.1:4222', '***@127.0.0.1:4222'],
    ['redis:\\\\bob:hunter2@h:6379', 'redis:\\\\***@h:6379'],
    ['nats//bob:hun@ter2@127.0.0.1:4222', 'nats//***@127.0.0.1:4222'],
    ['nats://bob:hun@ter2@127.0.0.1:4222', 'nats://***@127.0.0.1:4222'],
    ['nats://:hunter2@h', 'nats://***@h'],
    ['nats//:hunter2@h', 'nats//***@h'],
    ['nats//hunter2@127.0.0.1:4222', 'nats//***@127.0.0.1:4222'],
    ['kafka+ssl//alice:hunter2@b1:9092,b2:9092', 'kafka+ssl//***@b1:9092,b2:9092'],
    // a `/` in the password (base64 passwords have them)
    ['amqp://u:hunter2/x@h', 'amqp://***@h'],
    ['redis://u:hun/ter2@h:6379/0', 'redis://***@h:6379/0'],
    ['nats://u:hunter2/@host:4222', 'nats://***@host:4222'],
    ['bob:hun/ter2@host:4222', '***@host:4222'],
    ['kafka://u:p/hunter2@b1:9092,b2:9092', 'kafka://***@b1:9092,b2:9092'],
    // a password starting with "/" (1 base64 password in 64), or holding "//"
    ['redis://default:/hunter2@redis.example.com', 'redis://***@redis.example.com'],
    ['redis://default:/hunter2@h:6379', 'redis://***@h:6379'],
    ['amqp://u:ab//hunter2@h:5672', 'amqp://***@h:5672'],
    ['bob:ab//hunter2@host:4222', '***@host:4222'],
  ];

  it.each(cases)('%s', (input, expected) => {
    expect(redact(input)).toBe(expected);
    const inText = `unknown scheme in ${input}; expected nats://`;
    expect(redact(inText)).not.toContain(secret);
    expect(redact(`"${input}"`)).not.toContain(secret);
    expect(redact(`{"url":"${input}"}`)).not.toContain(secret);
    expect(redact(`(${input})`)).not.toContain(secret);
  });

  it('two URLs in one text lose both passwords and keep both hosts', () => {
    expect(redact('nats://a:p1secret@h1:4222,nats//b:p2secret@h2:4222')).toBe(
      'nats://***@h1:4222,nats//***@h2:4222',
    );
  });

  it('a path holding an @ is not taken for credentials', () => {
    for (const text of [
      'see https://registry.example/@scope/pkg',
      'at file:///work/node_modules/.pnpm/kafkajs@2.2.4/node_modules/kafkajs/index.js:1:2',
    ])
      expect(redact(text)).toBe(text);
  });

  it('leaves ordinary text alone', () => {
    for (const text of [
      'orders.eu.created',
      'at 12:30 write to ops@example.com',
      'field connectOptions.pass: must be a string',
      'nats://127.0.0.1:4222',
      'at file:///work/node_modules/.pnpm/kafkajs@2.2.4/node_modules/kafkajs/src/index.js:12:3',
      'dlq.заказы.eu.created',
    ])
      expect(redact(text)).toBe(text);
  });

  it('long inputs without an @ come back unchanged (and within the test timeout: no catastrophic backtracking)', () => {
    for (const text of [
      `${'a:'.repeat(50_000)}x`,
      'abc'.repeat(50_000),
      `/${'a:/'.repeat(20_000)}`,
      `nats://${'a:b/'.repeat(20_000)}`,
      ` ${'u:p/ '.repeat(20_000)}`,
    ])
      expect(redact(text)).toBe(text);
  });

  it('errors built from such text carry no password in message, stack, cause or formatError', () => {
    const url = 'nats//bob:hunter2@127.0.0.1:4222';
    const error = new ConfigError('OMNIBUS_URL', `unknown scheme in ${url}`, {
      cause: safeCause(new Error(`parse failed: ${url}`)),
    });
    const wrapped = new ConnectionError(`cannot connect to ${url}`, { cause: error });
    for (const e of [error, wrapped]) {
      expect(e.message).not.toContain(secret);
      expect(String(e.stack)).not.toContain(secret);
      expect(formatError(e, { stack: true })).not.toContain(secret);
    }
    expect(String((error.cause as Error).stack)).not.toContain(secret);
  });
});
