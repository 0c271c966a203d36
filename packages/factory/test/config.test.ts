// Fast tests of the configuration: types, unknown option names, URL parameters, readable errors.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdapterNotInstalledError, ConfigError, formatError } from '@omnibus/core';
import { describe, expect, it } from 'vitest';
import {
  type ConfigFor,
  createEventBus,
  createEventBusFromEnv,
  type EventBusConfig,
  installCommand,
  parseOmnibusUrl,
} from '../src/index.js';
import { installHint, loadAdapter } from '../src/load-adapter.js';
import { adapterNamed } from '../src/registry.js';

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function failure(promise: Promise<unknown>): Promise<ConfigError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e) => e as ConfigError,
  );
}

describe('the configuration type is a union discriminated by backend', () => {
  it('a misspelt option is a compile error (checked by tsc) and a ConfigError at run time', async () => {
    const typos = [
      // @ts-expect-error histroy is not a memory option
      () => createEventBus({ backend: 'memory', histroy: true }),
      // @ts-expect-error strams is not a NATS option
      () => createEventBus({ backend: 'nats', url: 'nats://127.0.0.1:1', strams: [] }),
      // @ts-expect-error a stream setting is checked too
      () => createEventBus({ backend: 'nats', url: 'nats://127.0.0.1:1', streamDefaults: { maxAge: 1 } }),
      // @ts-expect-error an option of another backend is refused
      () => createEventBus({ backend: 'memory', url: 'nats://127.0.0.1:4222' }),
    ];
    const fields = [];
    for (const typo of typos) {
      const error = await failure(typo());
      // errors raised inside an adapter's built code are another module instance under vitest: compare codes
      expect(error.code).toBe('CONFIG');
      fields.push(error.field);
    }
    expect(fields).toEqual(['histroy', 'strams', 'streamDefaults.maxAge', 'url']);
  });

  it('each backend has its own options', () => {
    const memory: EventBusConfig = {
      backend: 'memory',
      history: { maxMessages: 10 },
      require: { replay: true },
    };
    const nats: ConfigFor<'nats'> = {
      backend: 'nats',
      url: 'nats://h:4222',
      streams: [{ name: 'A', subjects: ['orders.>'] }],
    };
    // the Kafka adapter is in progress: its options are an open record until it exists
    const kafka: EventBusConfig = { backend: 'kafka', brokers: ['h:9092'] };
    // @ts-expect-error url is a string or a list of strings
    const wrongType: EventBusConfig = { backend: 'nats', url: 4222 };
    expect([memory, nats, kafka, wrongType].map((c) => c.backend)).toEqual([
      'memory',
      'nats',
      'kafka',
      'nats',
    ]);
  });
});

describe('every installed adapter refuses option names it does not know', () => {
  const workspaceAdapters = readdirSync(packagesDir)
    .map((dir) => {
      try {
        return JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8'));
      } catch {
        return undefined;
      }
    })
    .filter((pkg) => pkg?.omnibus?.adapter);

  for (const pkg of workspaceAdapters) {
    it(`${pkg.omnibus.adapter}: before connecting, naming the option`, async () => {
      // every workspace adapter is a (dev) dependency of the factory, so it loads here
      const registration = adapterNamed(pkg.omnibus.adapter);
      const factory = await loadAdapter(registration as NonNullable<typeof registration>);
      const create = factory as (options: Record<string, unknown>) => unknown;
      const error = await failure(Promise.resolve().then(() => create({ surelyNotAnOption: 1 })));
      expect(error.code).toBe('CONFIG');
      expect(error.field).toBe('surelyNotAnOption');
    });
  }
});

describe('OMNIBUS_URL parameters reach the adapter options', () => {
  it('nats: the servers are checked here, the adapter reads the query itself (as createNatsBus({ url }) does)', () => {
    const url =
      'nats://bob:pw@h1:4222,h2:4222?stream=EV:*.created&stream=ORD:orders.>,billing.>&storage=memory&maxAgeMs=60000';
    expect(parseOmnibusUrl(url)).toEqual({ backend: 'nats', options: { url } });
    expect(parseOmnibusUrl('nats://127.0.0.1:4222')).toEqual({
      backend: 'nats',
      options: { url: 'nats://127.0.0.1:4222' },
    });
    expect(() => parseOmnibusUrl('nats://h:4222,[::1:4222?storage=memory')).toThrow(
      expect.objectContaining({ field: 'OMNIBUS_URL' }),
    );
  });

  it('nats: unknown or malformed parameters are ConfigErrors naming them, before connecting', async () => {
    for (const [query, field] of [
      ['strem=ALL:>', 'OMNIBUS_URL.strem'],
      ['stream=ALL', 'OMNIBUS_URL.stream'],
      ['maxAgeMs=soon', 'OMNIBUS_URL.maxAgeMs'],
    ]) {
      const error = await failure(
        createEventBusFromEnv({ env: { OMNIBUS_URL: `nats://127.0.0.1:1?${query}` } }),
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.field).toBe(field);
    }
    const clash = await failure(
      createEventBusFromEnv({
        env: { OMNIBUS_URL: 'nats://127.0.0.1:1?streamPrefix=A' },
        nats: { streamPrefix: 'B' },
      }),
    );
    expect(clash.field).toBe('OMNIBUS_URL.streamPrefix');
  });

  it('memory: every option but onDrop, numbers checked', () => {
    expect(parseOmnibusUrl('memory://?dedupeMaxEntries=10&maxBuffered=5').options).toEqual({
      dedupeMaxEntries: 10,
      maxBuffered: 5,
    });
    expect(() => parseOmnibusUrl('memory://?maxBuffered=lots')).toThrow(
      expect.objectContaining({ field: 'OMNIBUS_URL.maxBuffered' }),
    );
  });
});

describe('errors a person can read', () => {
  it('OMNIBUS_URL set but empty (or blank) is a ConfigError, not a silent in-memory bus', async () => {
    for (const value of ['', '   ']) {
      const error = await failure(createEventBusFromEnv({ env: { OMNIBUS_URL: value } }));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.field).toBe('OMNIBUS_URL');
      expect(error.hint).toContain('memory://');
    }
    const unset = await createEventBusFromEnv({ env: {} });
    expect(unset.backend).toBe('memory');
    await unset.close();
  });

  it('createEventBus({ backend, url }) reads the URL like OMNIBUS_URL: NATS parameters included, a url beside a connection refused', async () => {
    const misspelt = await failure(createEventBus({ backend: 'nats', url: 'nats://127.0.0.1:1?maxAge=5' }));
    expect(misspelt.field).toBe('url.maxAge');
    const beside = await failure(
      createEventBus({ backend: 'kafka', url: 'kafka://127.0.0.1:1', brokers: ['127.0.0.1:9092'] }),
    );
    expect(beside.field).toBe('url');
  });

  it('a URL without its scheme never echoes the password, and says what to write', async () => {
    const error = await failure(createEventBusFromEnv({ OMNIBUS_URL: 'bob:hunter2@127.0.0.1:4222' }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.field).toBe('OMNIBUS_URL');
    expect(formatError(error, { stack: true })).not.toContain('hunter2');
    expect(error.hint).toContain('nats://');
  });

  it('AdapterNotInstalledError names the backend and the install command of the package manager in use', async () => {
    const missing = '@omnibus/not-installed';
    const error = await loadAdapter({ name: 'kafka', schemes: ['kafka'], load: () => import(missing) }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(AdapterNotInstalledError);
    expect(error.backend).toBe('kafka');
    expect(error.message).not.toContain('undefined');
    expect(error.installCommand).toBe(installCommand('@omnibus/not-installed'));
  });

  it('until the @omnibus packages are published, the hint also says how to build and pack one', () => {
    const agent = { npm_config_user_agent: 'pnpm/9.15.9 npm/? node/v20.19.0 linux x64' };
    const hint = installHint('@omnibus/nats', installCommand('@omnibus/nats', agent));
    expect(hint).toMatch(/^install it: pnpm add @omnibus\/nats once the @omnibus packages are published/);
    expect(hint).toContain('npx pnpm build');
    expect(hint).toContain(
      'npx pnpm pack --pack-destination /tmp/omnibus` in packages/nats and packages/core',
    );
    expect(hint).toContain('`pnpm add /tmp/omnibus/omnibus-core-*.tgz /tmp/omnibus/omnibus-nats-*.tgz`');
    expect(hint).toContain('"Install"');
    // the error carries it, unredacted by accident (no "***")
    expect(new AdapterNotInstalledError('nats', '@omnibus/nats', { hint }).hint).toBe(hint);
    // a missing client library is on the registry: the plain command
    expect(installHint('ioredis')).toBe(`install it: ${installCommand('ioredis')}`);
  });

  it('installCommand follows npm_config_user_agent, neutral otherwise', () => {
    const agent = (a: string) => ({ npm_config_user_agent: `${a}/1.0.0 npm/? node/v20.19.0 linux x64` });
    expect(installCommand('@omnibus/nats', agent('pnpm'))).toBe('pnpm add @omnibus/nats');
    expect(installCommand('@omnibus/nats', agent('yarn'))).toBe('yarn add @omnibus/nats');
    expect(installCommand('@omnibus/nats', agent('bun'))).toBe('bun add @omnibus/nats');
    expect(installCommand('@omnibus/nats', agent('npm'))).toBe('npm install @omnibus/nats');
    expect(installCommand('@omnibus/nats', {})).toBe('npm install @omnibus/nats');
  });
});
