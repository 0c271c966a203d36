// kafka:// query parameters: what the READMEs list is exactly what the code accepts; typos get a
// "did you mean"; every error about a parameter names it as url.<parameter>. No broker needed.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@omnibus/core';
import { readmeSchemeRow, readmeUrlParameters } from '@omnibus/testing';
import { describe, expect, it } from 'vitest';
import { KAFKA_URL_PARAMETERS, resolveKafkaOptions } from '../src/options.js';

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const readme = (pkg: string) => readFileSync(join(packagesDir, pkg, 'README.md'), 'utf8');

const accepted = Object.keys(KAFKA_URL_PARAMETERS);
const sample: Record<string, string> = {
  topicPrefix: 'app.',
  groupPrefix: 'app.',
  clientId: 'orders',
  delivery: 'at-most-once',
};

function error(run: () => unknown): { field?: string; message?: string } {
  try {
    run();
  } catch (e) {
    return e as { field?: string; message?: string };
  }
  throw new Error('expected a ConfigError');
}

describe('kafka:// URL parameters', () => {
  it('the kafka README and the factory README list exactly the parameters the code accepts', () => {
    expect([...readmeUrlParameters(readme('kafka'))].sort()).toEqual([...accepted].sort());
    expect([...readmeSchemeRow(readme('factory'), 'kafka://')].sort()).toEqual([...accepted].sort());
  });

  it('every documented parameter is accepted', () => {
    for (const name of new Set([
      ...readmeUrlParameters(readme('kafka')),
      ...readmeSchemeRow(readme('factory'), 'kafka://'),
    ])) {
      const value = sample[name] ?? '7000';
      expect(() => resolveKafkaOptions({ url: `kafka://h:9092?${name}=${value}` }), name).not.toThrow();
    }
    const resolved = resolveKafkaOptions({ url: 'kafka://h:9092?publishTimeoutMs=2500&numPartitions=2' });
    expect(resolved.publishTimeoutMs).toBe(2500);
    expect(resolved.topics).toEqual({ numPartitions: 2 });
  });

  it('a misspelt parameter gets a "did you mean"', () => {
    const e = error(() => resolveKafkaOptions({ url: 'kafka://h:9092?topicprefix=x' }));
    expect(e.field).toBe('url.topicprefix');
    expect(e.message).toContain('(did you mean "topicPrefix"?)');
  });

  it('a value that does not read, or is out of range, names the parameter, not the option', () => {
    expect(error(() => resolveKafkaOptions({ url: 'kafka://h:9092?sessionTimeoutMs=x' })).field).toBe(
      'url.sessionTimeoutMs',
    );
    expect(error(() => resolveKafkaOptions({ url: 'kafka://h:9092?sessionTimeoutMs=10' })).message).toContain(
      'url.sessionTimeoutMs: must be an integer ≥ 6000',
    );
    expect(error(() => resolveKafkaOptions({ url: 'kafka://h:9092?numPartitions=0' })).field).toBe(
      'url.numPartitions',
    );
  });

  it('an option set by the URL and explicitly is a ConfigError: neither silently wins', () => {
    const e = error(() =>
      resolveKafkaOptions({ url: 'kafka://h:9092?numPartitions=2', topics: { numPartitions: 3 } }),
    );
    expect(e.field).toBe('url.numPartitions');
    expect(
      resolveKafkaOptions({ url: 'kafka://h:9092?numPartitions=2', topics: { replicationFactor: 1 } }).topics,
    ).toEqual({ numPartitions: 2, replicationFactor: 1 });
  });
});

describe('credentials in the URL', () => {
  it('a password holding a raw "/", "?" or "@" is read whole, the brokers after it too', () => {
    for (const password of ['pa/ss', 'pa?ss', 'p@ss', 'a/b?c@d']) {
      const options = resolveKafkaOptions({ url: `kafka://user:${password}@h1:9092,h2:9092?clientId=app` });
      expect(options.sasl).toMatchObject({ mechanism: 'plain', username: 'user', password });
      expect(options.brokers).toEqual(['h1:9092', 'h2:9092']);
      expect(options.clientId).toBe('app');
    }
    expect(resolveKafkaOptions({ url: 'kafka://u:p%2Fw%25@h:9092' }).sasl).toMatchObject({
      password: 'p/w%',
    });
  });

  it('a broker without its port after the credentials is named, the credentials not', () => {
    expect(() => resolveKafkaOptions({ url: 'kafka://u:hunter2@b1:9092,b2' })).toThrow(
      'broker "b2" must be host:port',
    );
    try {
      resolveKafkaOptions({ url: 'kafka://u:hunter2@b1' });
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('hunter2');
    }
  });

  it('a URL that cannot be read is a ConfigError that never repeats the password', () => {
    for (const url of ['kafka://u:hunter%2@h:9092', 'kafka://u:hunter2/x@not a host', 'kafka://u:hunter2@']) {
      let error: unknown;
      try {
        resolveKafkaOptions({ url });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect(String((error as Error).message)).not.toContain('hunter');
    }
  });
});

describe('url beside brokers or kafka', () => {
  it('is refused: they name the brokers, the URL would be ignored', () => {
    const withBrokers = error(() =>
      resolveKafkaOptions({ url: 'kafka://elsewhere:9092', brokers: ['h:9092'] }),
    );
    expect(withBrokers.field).toBe('url');
    expect(withBrokers.message).toContain('not used with brokers');
    const withClient = error(() =>
      resolveKafkaOptions({ url: 'kafka://elsewhere:9092', kafka: {} as never }),
    );
    expect(withClient.field).toBe('url');
    expect(withClient.message).toContain('not used with kafka');
  });
});
