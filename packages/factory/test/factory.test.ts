import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { AdapterNotInstalledError, ConfigError, type EventBus } from '@omnibus/core';
import { startLocalServer, uniqueName, withBroker } from '@omnibus/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus, createEventBusFromEnv, parseOmnibusUrl, registeredAdapters } from '../src/index.js';
import { loadAdapter } from '../src/load-adapter.js';
import { adapterNamed } from '../src/registry.js';

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let bus: EventBus | undefined;
afterEach(async () => {
  await bus?.close();
  bus = undefined;
});

describe('the built-in adapters, registered like any other', () => {
  it('agree with the workspace adapter packages: name, package and factory export', async () => {
    const workspaceAdapters = readdirSync(packagesDir)
      .map((dir) => {
        try {
          return JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8'));
        } catch {
          return undefined;
        }
      })
      .filter((pkg) => pkg?.omnibus?.adapter);
    expect(workspaceAdapters.length).toBeGreaterThan(0);
    for (const pkg of workspaceAdapters) {
      const registration = adapterNamed(pkg.omnibus.adapter);
      expect(registration, `${pkg.name} is not registered`).toBeDefined();
      expect(registration?.packageName).toBe(pkg.name);
      const factory = await loadAdapter(registration as NonNullable<typeof registration>);
      expect(factory).toBe((await import(pkg.name))[pkg.omnibus.factory]);
    }
    expect(registeredAdapters().map((a) => a.name)).toEqual(['memory', 'nats', 'redis', 'kafka', 'rabbitmq']);
  });

  it('names the package to install when an adapter is missing', async () => {
    const ghost = '@omnibus/ghost-adapter';
    const error = await loadAdapter({ name: 'ghost', schemes: ['ghost'], load: () => import(ghost) }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(AdapterNotInstalledError);
    expect(error.packageName).toBe('@omnibus/ghost-adapter');
    expect(error.backend).toBe('ghost');
    expect(error.hint).toContain(`${error.installCommand}`);
    expect(error.hint).toContain('npx pnpm pack'); // not published yet: how to get it meanwhile
    expect(error.installCommand).toMatch(/ @omnibus\/ghost-adapter$/);
  });
});

describe('createEventBus', () => {
  it('creates the memory bus and passes adapter options through', async () => {
    bus = await createEventBus({ backend: 'memory', history: true });
    expect(bus.backend).toBe('memory');
    expect(bus.capabilities.replay).toBe(true);
  });

  it('rejects an unknown backend with ConfigError naming the field', async () => {
    await expect(createEventBus({ backend: 'carrier-pigeon' as never })).rejects.toMatchObject({
      code: 'CONFIG',
      field: 'backend',
    });
  });

  it('fails at start-up when a required capability is missing', async () => {
    const error = await createEventBus({ backend: 'memory', require: { durable: true } }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.field).toBe('require.durable');
    await expect(createEventBus({ backend: 'memory', require: { replay: true } })).rejects.toMatchObject({
      field: 'require.replay',
    });
    await expect(
      createEventBus({ backend: 'memory', require: { telepathy: true } as never }),
    ).rejects.toMatchObject({
      field: 'require.telepathy',
    });
    bus = await createEventBus({ backend: 'memory', history: true, require: { replay: true, groups: true } });
  });

  it('surfaces the adapter option errors', async () => {
    await expect(createEventBus({ backend: 'memory', maxBuffered: -1 })).rejects.toMatchObject({
      field: 'maxBuffered',
    });
  });
});

describe('createEventBusFromEnv', () => {
  it('is in-memory when nothing is set', async () => {
    bus = await createEventBusFromEnv({ env: {} });
    expect(bus.backend).toBe('memory');
  });

  it('reads memory options and requirements from the environment', async () => {
    bus = await createEventBusFromEnv({ OMNIBUS_URL: 'memory://?history=100', OMNIBUS_REQUIRE: 'replay' });
    expect(bus.capabilities.replay).toBe(true);
    await expect(
      createEventBusFromEnv({ OMNIBUS_URL: 'memory://', OMNIBUS_REQUIRE: 'replay' }),
    ).rejects.toMatchObject({
      field: 'require.replay',
    });
  });

  it('?delivery= sets the bus-wide delivery level; a bad level is refused naming the parameter', async () => {
    bus = await createEventBusFromEnv({ OMNIBUS_URL: 'memory://?delivery=at-most-once' });
    // at most once by default: what only at-least-once offers is refused
    await expect(bus.subscribe('levels.x', { maxAttempts: 3 })).rejects.toMatchObject({
      field: 'maxAttempts',
    });
    await (await bus.subscribe('levels.x', { delivery: 'at-least-once', maxAttempts: 3 })).close();
    await expect(
      createEventBusFromEnv({ OMNIBUS_URL: 'memory://?delivery=sometimes' }),
    ).rejects.toMatchObject({
      field: 'OMNIBUS_URL.delivery',
    });
  });
});

describe('parseOmnibusUrl', () => {
  it('maps every scheme to its backend', () => {
    expect(parseOmnibusUrl('memory://')).toEqual({ backend: 'memory', options: {} });
    expect(parseOmnibusUrl('nats://127.0.0.1:4222')).toEqual({
      backend: 'nats',
      options: { url: 'nats://127.0.0.1:4222' },
    });
    expect(parseOmnibusUrl('redis://127.0.0.1:6379/0').backend).toBe('redis');
    expect(parseOmnibusUrl('rediss://h:6380').backend).toBe('redis');
    expect(parseOmnibusUrl('kafka://h1:9092,h2:9092')).toEqual({
      backend: 'kafka',
      options: { url: 'kafka://h1:9092,h2:9092' },
    });
  });

  it('never echoes credentials in errors', () => {
    for (const url of [
      'ftp://bob:hunter2@h',
      'kafka://bob:hunter2@',
      'nats://bob:hunter2@[bad',
      'kafka://bob:hunter2@h1:x',
    ]) {
      const error = (() => {
        try {
          parseOmnibusUrl(url);
        } catch (e) {
          return e as ConfigError;
        }
        return undefined;
      })();
      expect(error, url).toBeInstanceOf(ConfigError);
      expect(error?.message).not.toContain('hunter2');
      expect(String(error?.cause ?? '')).not.toContain('hunter2');
    }
  });

  it('rejects unknown memory options by name', () => {
    expect(() => parseOmnibusUrl('memory://?histroy=1')).toThrow(
      expect.objectContaining({ field: 'OMNIBUS_URL.histroy' }),
    );
  });
});

await withBroker('nats', (broker) => {
  it('selects the NATS adapter from OMNIBUS_URL and round-trips a message', async () => {
    bus = await createEventBusFromEnv({ OMNIBUS_URL: broker.url, OMNIBUS_REQUIRE: 'durable,replay' });
    expect(bus.backend).toBe('nats');
    const subject = `${uniqueName('factory')}.x`;
    const sub = await bus.subscribe(subject);
    await bus.publish(subject, 'via factory');
    for await (const m of sub) {
      expect(m.text()).toBe('via factory');
      break;
    }
    const created = (bus as EventBus & { createdStreams: string[] }).createdStreams;
    expect(created).toHaveLength(1);
    await bus.close();
    bus = undefined;
    const nc = await connect({ servers: broker.url });
    for (const name of created) await (await jetstreamManager(nc)).streams.delete(name);
    await nc.close();
  });

  it('OMNIBUS_URL stream settings let a factory user subscribe to a pattern that starts with a wildcard', async () => {
    // a server of its own: a first-token wildcard overlaps every automatic stream other tests leave on a shared one
    const store = mkdtempSync(join(tmpdir(), 'omnibus-factory-nats-'));
    const server = await startLocalServer({
      name: 'nats-server',
      binaries: [
        '/usr/sbin/nats-server',
        '/usr/local/bin/nats-server',
        '/usr/bin/nats-server',
        'nats-server',
      ],
      args: (port) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store],
    });
    const url = `nats://127.0.0.1:${server.port}`;
    try {
      bus = await createEventBusFromEnv({
        OMNIBUS_URL: `${url}?stream=EVENTS:*.created&storage=memory&maxAgeMs=60000`,
      });
      const sub = await bus.subscribe('*.created');
      await bus.publish('orders.created', 'first-token wildcard');
      for await (const m of sub) {
        expect(m.subject).toBe('orders.created');
        break;
      }
      expect((bus as EventBus & { createdStreams: string[] }).createdStreams).toEqual(['EVENTS']);
      const nc = await connect({ servers: url });
      try {
        const info = await (await jetstreamManager(nc)).streams.info('EVENTS');
        expect(info.config.storage).toBe('memory');
        expect(info.config.max_age).toBe(60_000 * 1_000_000);
      } finally {
        await nc.close();
      }
    } finally {
      await bus?.close();
      bus = undefined;
      await server.dispose();
      rmSync(store, { recursive: true, force: true });
    }
  });
});
