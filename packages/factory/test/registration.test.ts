// registerAdapter: a third party's adapter selected by name and by OMNIBUS_URL scheme, typed by
// module augmentation; malformed or clashing registrations refused with a hint; an adapter
// passed as its factory function. The adapter here wraps the in-memory bus; the out-of-tree
// package built from the public packages alone is examples/third-party-adapter.
import { AdapterNotInstalledError, type EventBus, silentLogger } from '@omnibus/core';
import { createMemoryBus, type MemoryBusOptions } from '@omnibus/memory';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AdapterRegistration,
  createEventBus,
  createEventBusFromEnv,
  parseOmnibusUrl,
  registerAdapter,
  registeredAdapters,
} from '../src/index.js';

/** What the test adapter takes: the memory bus's options, and a label to show it got them. */
interface EchoBusOptions extends MemoryBusOptions {
  label?: string;
  url?: string;
  client?: object;
  onStatus?: () => void;
}

declare module '@omnibus/core' {
  interface BackendOptionsRegistry {
    echo: EchoBusOptions;
  }
}

/** The options each created echo bus got. */
const received: Record<string, unknown>[] = [];

function createEchoBus(options: EchoBusOptions = {}): EventBus {
  received.push({ ...options });
  const { label: _label, url: _url, client: _client, onStatus: _onStatus, ...memory } = options;
  return createMemoryBus(memory);
}

const echo: AdapterRegistration = {
  name: 'echo',
  schemes: ['echo', 'echo+tls'],
  packageName: 'omnibus-adapter-echo',
  load: async () => createEchoBus,
  connectionOption: 'client',
};

let unregister: (() => void) | undefined;
let bus: EventBus | undefined;
afterEach(async () => {
  await bus?.close();
  bus = undefined;
  unregister?.();
  unregister = undefined;
  received.length = 0;
});

async function configError(run: () => unknown): Promise<{ code?: string; field?: string; hint?: string }> {
  try {
    await run();
  } catch (error) {
    return error as { code?: string; field?: string; hint?: string };
  }
  throw new Error('expected a ConfigError');
}

describe('a registered adapter', () => {
  it('is selected by OMNIBUS_URL with its scheme, getting the URL by default', async () => {
    unregister = registerAdapter(echo);
    bus = await createEventBusFromEnv({ env: { OMNIBUS_URL: 'echo+tls://h:1?x=1' }, logger: silentLogger });
    expect(received).toEqual([{ url: 'echo+tls://h:1?x=1', logger: silentLogger }]);
    expect(parseOmnibusUrl('ECHO://h')).toEqual({ backend: 'echo', options: { url: 'ECHO://h' } });
  });

  it('is selected by name, its options typed by module augmentation', async () => {
    unregister = registerAdapter(echo);
    bus = await createEventBus({ backend: 'echo', label: 'a', history: true, require: { replay: true } });
    expect(received).toEqual([{ label: 'a', history: true }]);
    // @ts-expect-error lable is not an echo option (the augmentation typed them)
    const typo = await configError(() => createEventBus({ backend: 'echo', lable: 'a' }));
    expect(typo.field).toBe('lable'); // and the adapter refuses it at run time
  });

  it('gets its block of createEventBusFromEnv, merged with the URL; onStatus unless it reports none', async () => {
    unregister = registerAdapter(echo);
    const onStatus = () => undefined;
    bus = await createEventBusFromEnv({ env: { OMNIBUS_URL: 'echo://h' }, onStatus, echo: { label: 'b' } });
    expect(received).toEqual([{ label: 'b', url: 'echo://h', onStatus }]);
    await bus.close();
    unregister();
    unregister = registerAdapter({ ...echo, reportsStatus: false });
    bus = await createEventBusFromEnv({ env: { OMNIBUS_URL: 'echo://h' }, onStatus });
    expect(received[1]).toEqual({ url: 'echo://h' });
  });

  it('reads OMNIBUS_URL with its parseUrl; an option both there and in the block is a ConfigError', async () => {
    unregister = registerAdapter({
      ...echo,
      parseUrl: (url) => ({ options: { label: new URL(url).hostname } }),
    });
    bus = await createEventBusFromEnv({ env: { OMNIBUS_URL: 'echo://from-url' } });
    expect(received).toEqual([{ label: 'from-url' }]);
    const clash = await configError(() =>
      createEventBusFromEnv({ env: { OMNIBUS_URL: 'echo://from-url' }, echo: { label: 'code' } }),
    );
    expect(clash.field).toBe('OMNIBUS_URL');
    expect(String(clash)).toContain('also set as echo.label');
  });

  it('a parseUrl that throws a plain Error gives a ConfigError that does not echo the URL', async () => {
    unregister = registerAdapter({
      ...echo,
      parseUrl: (url) => {
        throw new Error(`cannot use ${url}`);
      },
    });
    const error = await configError(() =>
      createEventBusFromEnv({ env: { OMNIBUS_URL: 'echo://bob:hunter2@h' } }),
    );
    expect(error.field).toBe('OMNIBUS_URL');
    expect(String(error)).not.toContain('hunter2');
  });

  it('a connection from code wants the scheme alone in OMNIBUS_URL', async () => {
    unregister = registerAdapter(echo);
    const client = {};
    bus = await createEventBusFromEnv({ env: { OMNIBUS_URL: 'echo://' }, echo: { client } });
    expect(received).toEqual([{ client }]);
    const error = await configError(() =>
      createEventBusFromEnv({ env: { OMNIBUS_URL: 'echo://h:1' }, echo: { client } }),
    );
    expect(error.field).toBe('OMNIBUS_URL');
    expect(error.hint).toContain('OMNIBUS_URL=echo://');
  });

  it('is listed, and named among the known schemes and backends once registered (not before)', async () => {
    const before = await configError(() => createEventBusFromEnv({ env: { OMNIBUS_URL: 'echo://h' } }));
    expect(String(before)).toContain('unknown scheme');
    expect(before.hint).toContain('registerAdapter');
    unregister = registerAdapter(echo);
    expect(registeredAdapters().at(-1)).toEqual({
      name: 'echo',
      schemes: ['echo', 'echo+tls'],
      packageName: 'omnibus-adapter-echo',
    });
    const unknown = await configError(() => createEventBusFromEnv({ env: { OMNIBUS_URL: 'ftp://h' } }));
    expect(String(unknown)).toContain('echo://, echo+tls://');
    unregister();
    unregister = undefined;
    expect(registeredAdapters().map((a) => a.name)).not.toContain('echo');
  });

  it('whose package is missing gives AdapterNotInstalledError naming it', async () => {
    const missing = 'omnibus-adapter-not-installed';
    unregister = registerAdapter({ ...echo, packageName: missing, load: () => import(missing) });
    const error = await createEventBus({ backend: 'echo' }).catch((e) => e);
    expect(error).toBeInstanceOf(AdapterNotInstalledError);
    expect(error.packageName).toBe(missing);
    expect(error.backend).toBe('echo');
  });

  it('whose load gives no function is a ConfigError with a hint', async () => {
    unregister = registerAdapter({ ...echo, load: async () => ({}) as never });
    const error = await configError(() => createEventBus({ backend: 'echo' }));
    expect(error.field).toBe('backend');
    expect(error.hint).toContain('load must resolve to the function');
  });
});

describe('registrations are checked', () => {
  it.each([
    ['a name taken', { ...echo, name: 'nats' }, 'name', 'choose another name'],
    ['a scheme taken', { ...echo, schemes: ['echo', 'tls'] }, 'schemes[1]', 'choose another scheme'],
    ['a scheme with ://', { ...echo, schemes: ['echo://'] }, 'schemes[0]', "write the scheme alone: 'echo'"],
    ['no schemes', { ...echo, schemes: [] }, 'schemes', undefined],
    ['an upper-case name', { ...echo, name: 'Echo' }, 'name', 'e.g. name'],
    ['a reserved name', { ...echo, name: 'logger' }, 'name', 'choose another name'],
    ['no load function', { ...echo, load: 'omnibus-adapter-echo' }, 'load', 'import('],
    ['a misspelt field', { ...echo, scheme: ['x'] }, 'scheme', 'did you mean "schemes"'],
  ])('%s: ConfigError naming the field', async (_, registration, field, hint) => {
    const error = await configError(() => registerAdapter(registration as never));
    expect(error.code).toBe('CONFIG');
    expect(error.field).toBe(field);
    if (hint !== undefined) expect(`${error.hint} ${String(error)}`).toContain(hint);
    expect(registeredAdapters().map((a) => a.name)).toEqual(['memory', 'nats', 'redis', 'kafka', 'rabbitmq']);
  });

  it('the same adapter registered again is a no-op; another one under its name is refused', async () => {
    unregister = registerAdapter(echo);
    expect(() => registerAdapter({ ...echo, load: async () => createEchoBus })).not.toThrow();
    const error = await configError(() => registerAdapter({ ...echo, packageName: 'another-echo' }));
    expect(error.field).toBe('name');
    expect(String(error)).toContain('already registered (by omnibus-adapter-echo)');
  });

  it("a repeat's unregister leaves the first registration, however often it is called", async () => {
    const memory = registeredAdapters().find((r) => r.name === 'memory') as AdapterRegistration;
    const again = registerAdapter({ ...memory, load: async () => createMemoryBus });
    again();
    again();
    expect(registeredAdapters().map((r) => r.name)).toContain('memory');
    const bus = await createEventBusFromEnv({ env: {} });
    expect(bus.backend).toBe('memory');
    await bus.close();
    // and nobody else can take the default backend's name
    await configError(() => registerAdapter({ ...memory, packageName: 'not-the-memory-bus' }));
  });
});

describe('createEventBus({ adapter }): an adapter passed as its factory function', () => {
  it('is created with the options, typed by its parameter, and requirements are checked', async () => {
    bus = await createEventBus({
      adapter: createEchoBus,
      label: 'c',
      history: true,
      require: { replay: true },
    });
    expect(received).toEqual([{ label: 'c', history: true }]);
    // @ts-expect-error lable is not an option of createEchoBus
    const typo = await configError(() => createEventBus({ adapter: createEchoBus, lable: 'c' }));
    expect(typo.field).toBe('lable');
    const missing = await configError(() =>
      createEventBus({ adapter: createEchoBus, require: { durable: true } }),
    );
    expect(missing.field).toBe('require.durable');
  });

  it('with a backend too, or not a function: ConfigError naming adapter', async () => {
    const both = await configError(() =>
      createEventBus({ adapter: createEchoBus, backend: 'memory' } as never),
    );
    expect(both.field).toBe('adapter');
    const notAFunction = await configError(() => createEventBus({ adapter: 'echo' } as never));
    expect(notAFunction.field).toBe('adapter');
  });
});
