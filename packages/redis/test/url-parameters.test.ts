// redis:// query parameters: what the READMEs list is exactly what the code accepts; typos get a
// "did you mean"; every error about a parameter names it as url.<parameter>. No server needed.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeSchemeRow, readmeUrlParameters } from '@omnibus/testing';
import { describe, expect, it } from 'vitest';
import { REDIS_URL_PARAMETERS, resolveRedisOptions } from '../src/options.js';

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const readme = (pkg: string) => readFileSync(join(packagesDir, pkg, 'README.md'), 'utf8');

const accepted = Object.keys(REDIS_URL_PARAMETERS);
const sample: Record<string, string> = { keyPrefix: 'app', durable: 'true', delivery: 'at-most-once' };

function error(run: () => unknown): { field?: string; message?: string } {
  try {
    run();
  } catch (e) {
    return e as { field?: string; message?: string };
  }
  throw new Error('expected a ConfigError');
}

describe('redis:// URL parameters', () => {
  it('the redis README and the factory README list exactly the parameters the code accepts', () => {
    expect([...readmeUrlParameters(readme('redis'))].sort()).toEqual([...accepted].sort());
    expect([...readmeSchemeRow(readme('factory'), 'redis://')].sort()).toEqual([...accepted].sort());
  });

  it('every documented parameter is accepted, publishTimeoutMs included', () => {
    for (const name of new Set([
      ...readmeUrlParameters(readme('redis')),
      ...readmeSchemeRow(readme('factory'), 'redis://'),
    ])) {
      const value = sample[name] ?? '5000';
      expect(() => resolveRedisOptions({ url: `redis://h:6379?${name}=${value}` }), name).not.toThrow();
    }
    const resolved = resolveRedisOptions({ url: 'redis://h:6379/2?publishTimeoutMs=2500&keyPrefix=app' });
    expect(resolved.publishTimeoutMs).toBe(2500);
    expect(resolved.keyPrefix).toBe('app');
    expect(resolved.url).toBe('redis://h:6379/2'); // ioredis never sees the parameters
  });

  it('a misspelt parameter gets a "did you mean" and the spelling as its hint; an ioredis option, where those go', () => {
    const e = error(() => resolveRedisOptions({ url: 'redis://h:6379?keyprefix=x' }));
    expect(e.field).toBe('url.keyprefix');
    expect(e.message).toContain('(did you mean "keyPrefix"?)');
    expect((e as { hint?: string }).hint).toBe('write "keyPrefix" for "keyprefix"');
    const client = error(() => resolveRedisOptions({ url: 'redis://h:6379?enableOfflineQueue=false' }));
    expect((client as { hint?: string }).hint).toContain('redisOptions');
  });

  it('a value that does not read, or is out of range, names the parameter, not the option', () => {
    expect(error(() => resolveRedisOptions({ url: 'redis://h:6379?blockMs=abc' })).field).toBe('url.blockMs');
    expect(error(() => resolveRedisOptions({ url: 'redis://h:6379?blockMs=1' })).message).toContain(
      'url.blockMs: must be an integer ≥ 10',
    );
    expect(error(() => resolveRedisOptions({ url: 'redis://h:6379?trimMaxLen=0' })).field).toBe(
      'url.trimMaxLen',
    );
    expect(error(() => resolveRedisOptions({ url: 'redis://h:6379?durable=yes' })).field).toBe('url.durable');
    expect(error(() => resolveRedisOptions({ url: 'redis://h:6379?keyPrefix=a%20b' })).field).toBe(
      'url.keyPrefix',
    );
  });

  it('an option set by the URL and explicitly is a ConfigError: neither silently wins', () => {
    const e = error(() => resolveRedisOptions({ url: 'redis://h:6379?keyPrefix=a', keyPrefix: 'b' }));
    expect(e.field).toBe('url.keyPrefix');
    expect(e.message).toContain('also set as the keyPrefix option');
    expect(
      resolveRedisOptions({ url: 'redis://h:6379?trimMaxLen=5', trim: { approximate: true } }).trim,
    ).toEqual({
      maxLen: 5,
      approximate: true,
    });
  });
});

describe('url beside client', () => {
  it('is refused: the client passed in is the connection, the URL would be ignored', () => {
    const e = error(() => resolveRedisOptions({ url: 'redis://elsewhere:6379', client: {} as never }));
    expect(e.field).toBe('url');
    expect(e.message).toContain('not used with client');
  });
});
