// amqp:// query parameters: what the READMEs list is exactly what the code accepts; typos get a
// "did you mean"; every error about a parameter names it as url.<parameter>. No server needed.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeSchemeRow, readmeUrlParameters } from '@omnibus/testing';
import { describe, expect, it } from 'vitest';
import { RABBITMQ_URL_PARAMETERS, resolveRabbitMqOptions } from '../src/options.js';

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const readme = (pkg: string) => readFileSync(join(packagesDir, pkg, 'README.md'), 'utf8');

const accepted = Object.keys(RABBITMQ_URL_PARAMETERS);
const sample: Record<string, string> = {
  exchange: 'app',
  queuePrefix: 'app.',
  queueType: 'quorum',
  delivery: 'at-least-once',
};

function error(run: () => unknown): { field?: string; message?: string; hint?: string } {
  try {
    run();
  } catch (e) {
    return e as { field?: string; message?: string };
  }
  throw new Error('expected a ConfigError');
}

describe('amqp:// URL parameters', () => {
  it('the rabbitmq README and the factory README list exactly the parameters the code accepts', () => {
    expect([...readmeUrlParameters(readme('rabbitmq'))].sort()).toEqual([...accepted].sort());
    expect([...readmeSchemeRow(readme('factory'), 'amqp://')].sort()).toEqual([...accepted].sort());
  });

  it('every documented parameter is accepted, and the client never sees them', () => {
    for (const name of readmeUrlParameters(readme('rabbitmq'))) {
      const value = sample[name] ?? '5000';
      expect(() => resolveRabbitMqOptions({ url: `amqp://h:5672?${name}=${value}` }), name).not.toThrow();
    }
    const resolved = resolveRabbitMqOptions({
      url: 'amqp://u:p@h:5672/vh?publishTimeoutMs=2500&exchange=app',
    });
    expect(resolved.publishTimeoutMs).toBe(2500);
    expect(resolved.exchange).toBe('app');
    expect(resolved.url).toBe('amqp://u:p@h:5672/vh');
  });

  it('a misspelt parameter gets a "did you mean"; a client option, where those go', () => {
    const e = error(() => resolveRabbitMqOptions({ url: 'amqp://h:5672?exchnge=x' }));
    expect(e.field).toBe('url.exchnge');
    expect(e.message).toContain('(did you mean "exchange"?)');
    expect(error(() => resolveRabbitMqOptions({ url: 'amqp://h:5672?heartbeat=5' })).hint).toContain(
      'connectionOptions',
    );
  });

  it('a value that does not read, or is out of range, names the parameter', () => {
    expect(error(() => resolveRabbitMqOptions({ url: 'amqp://h:5672?connectTimeoutMs=abc' })).field).toBe(
      'url.connectTimeoutMs',
    );
    expect(error(() => resolveRabbitMqOptions({ url: 'amqp://h:5672?maxPayloadBytes=0' })).field).toBe(
      'url.maxPayloadBytes',
    );
    expect(error(() => resolveRabbitMqOptions({ url: 'amqp://h:5672?queuePrefix=a%20b' })).field).toBe(
      'url.queuePrefix',
    );
  });

  it('an option set by the URL and explicitly is a ConfigError: neither silently wins', () => {
    const e = error(() => resolveRabbitMqOptions({ url: 'amqp://h:5672?exchange=a', exchange: 'b' }));
    expect(e.field).toBe('url.exchange');
    expect(e.message).toContain('also set as the exchange option');
  });

  it('credentials go in the URL, never in connectionOptions', () => {
    expect(error(() => resolveRabbitMqOptions({ connectionOptions: { password: 'x' } as never })).field).toBe(
      'connectionOptions.password',
    );
  });
});
