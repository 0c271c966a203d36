// nats:// query parameters, read by the adapter itself (createNatsBus, createEventBus and
// createEventBusFromEnv alike): what the READMEs list is exactly what the code accepts; typos get
// a "did you mean"; every error about a parameter names it as url.<parameter>. No server needed.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeSchemeRow, readmeUrlParameters } from '@omnibus/testing';
import { describe, expect, it } from 'vitest';
import { resolveNatsOptions } from '../src/options.js';
import { NATS_URL_PARAMETERS } from '../src/url-parameters.js';

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const readme = (pkg: string) => readFileSync(join(packagesDir, pkg, 'README.md'), 'utf8');

const accepted = Object.keys(NATS_URL_PARAMETERS);
const sample: Record<string, string> = {
  stream: 'ORDERS:orders.>',
  retention: 'limits',
  storage: 'memory',
  streamPrefix: 'APP',
  provision: 'verify',
  replicas: '1',
  delivery: 'at-most-once',
};

function error(run: () => unknown): { field?: string; message?: string; hint?: string } {
  try {
    run();
  } catch (e) {
    return e as { field?: string; message?: string };
  }
  throw new Error('expected a ConfigError');
}

describe('nats:// URL parameters', () => {
  it('the nats README and the factory README list exactly the parameters the code accepts', () => {
    expect([...readmeUrlParameters(readme('nats'))].sort()).toEqual([...accepted].sort());
    expect([...readmeSchemeRow(readme('factory'), 'nats://')].sort()).toEqual([...accepted].sort());
  });

  it('every documented parameter is accepted; the client gets the servers without the query', () => {
    for (const name of accepted) {
      const value = sample[name] ?? '5000';
      expect(
        () => resolveNatsOptions({ url: `nats://h:4222?${name}=${encodeURIComponent(value)}` }),
        name,
      ).not.toThrow();
    }
    const resolved = resolveNatsOptions({
      url: 'nats://a:4222,nats://b:4222?stream=ORDERS:orders.>,billing.*&stream=AUDIT:audit.>&storage=memory&publishTimeoutMs=2500',
    });
    expect(resolved.servers).toEqual(['nats://a:4222', 'nats://b:4222']);
    expect(resolved.publishTimeoutMs).toBe(2500);
    expect(resolved.streamDefaults).toEqual({ storage: 'memory' });
    expect(resolved.streams).toEqual([
      { name: 'ORDERS', subjects: ['orders.>', 'billing.*'] },
      { name: 'AUDIT', subjects: ['audit.>'] },
    ]);
  });

  it('a misspelt parameter gets a "did you mean"; a client option, where those go', () => {
    const e = error(() => resolveNatsOptions({ url: 'nats://h:4222?maxAge=5' }));
    expect(e.field).toBe('url.maxAge');
    expect(e.message).toContain('(did you mean "maxAgeMs"?)');
    const client = error(() => resolveNatsOptions({ url: 'nats://h:4222?noEcho=true' }));
    expect(client.field).toBe('url.noEcho');
    expect(client.hint).toContain('connectOptions');
  });

  it('a value that does not read, or is out of range, names the parameter, not the option', () => {
    expect(error(() => resolveNatsOptions({ url: 'nats://h:4222?maxAgeMs=abc' })).field).toBe('url.maxAgeMs');
    expect(error(() => resolveNatsOptions({ url: 'nats://h:4222?storage=disk' })).field).toBe('url.storage');
    expect(error(() => resolveNatsOptions({ url: 'nats://h:4222?pullExpiresMs=10' })).message).toContain(
      'url.pullExpiresMs: must be an integer ≥ 1000',
    );
    expect(error(() => resolveNatsOptions({ url: 'nats://h:4222?stream=NOSUBJECTS' })).field).toBe(
      'url.stream',
    );
  });

  it('an option set by the URL and explicitly is a ConfigError: neither silently wins', () => {
    const e = error(() => resolveNatsOptions({ url: 'nats://h:4222?streamPrefix=A', streamPrefix: 'B' }));
    expect(e.field).toBe('url.streamPrefix');
    expect(e.message).toContain('also set as the streamPrefix option');
    // settings of one object merge when they do not overlap
    expect(
      resolveNatsOptions({ url: 'nats://h:4222?storage=memory', streamDefaults: { maxAgeMs: 1_000 } })
        .streamDefaults,
    ).toEqual({ storage: 'memory', maxAgeMs: 1_000 });
  });

  it('a "?" in a password is no query and never shown (it must be percent-encoded); tls:// is named as such; a trailing newline is no part of a value', () => {
    for (const url of ['nats://user:12?ab@h:4222', 'nats://user:12?ab@h:4222?maxAgeMs=5']) {
      const e = error(() => resolveNatsOptions({ url }));
      expect(e.field).toBe('url');
      expect(e.message).toContain('percent-encode');
      expect(`${e.field} ${e.message} ${e.hint}`).not.toContain('12?ab');
    }
    expect(resolveNatsOptions({ url: 'nats://user:12%3Fab@h:4222?maxAgeMs=5' }).connectOptions).toMatchObject(
      {
        user: 'user',
        pass: '12?ab',
      },
    );
    expect(error(() => resolveNatsOptions({ url: 'tls://h:4222?strage=file' })).message).toContain(
      'tls:// parameter',
    );
    expect(resolveNatsOptions({ url: 'nats://h:4222?storage=memory\n' }).streamDefaults).toEqual({
      storage: 'memory',
    });
  });

  it('parameters on one server of a list, or a url beside a connection, are refused', () => {
    expect(
      error(() => resolveNatsOptions({ url: ['nats://a:4222?storage=memory', 'nats://b:4222'] })).field,
    ).toBe('url');
    const e = error(() =>
      resolveNatsOptions({
        url: 'nats://h:4222',
        connection: {} as NonNullable<Parameters<typeof resolveNatsOptions>[0]>['connection'],
      }),
    );
    expect(e.field).toBe('url');
    expect(e.message).toContain('not used with connection');
  });
});
