// The loopback adapter through @omnibus/factory, as an application uses a third party's adapter:
// registered once, then selected by OMNIBUS_URL or by name, with typed options (module
// augmentation of BackendOptionsRegistry), URL parameters, and the factory's checks.
import { createEventBus, createEventBusFromEnv, registerAdapter } from '@omnibus/factory';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loopbackAdapter } from '../src/index.js';

beforeAll(() => {
  registerAdapter(loopbackAdapter);
});

let closeLater: { close(): Promise<void> } | undefined;
afterEach(async () => {
  await closeLater?.close();
  closeLater = undefined;
});

async function failure(
  run: () => Promise<unknown>,
): Promise<{ code?: string; field?: string; message: string }> {
  return run().then(
    () => {
      throw new Error('expected a rejection');
    },
    (error) => error,
  );
}

describe('omnibus-adapter-loopback through @omnibus/factory', () => {
  it('OMNIBUS_URL=loopback://?maxPayloadBytes=2048 selects it, with the option from the URL', async () => {
    const bus = await createEventBusFromEnv({ env: { OMNIBUS_URL: 'loopback://?maxPayloadBytes=2048' } });
    closeLater = bus;
    expect(bus.backend).toBe('loopback');
    expect(bus.capabilities.maxPayloadBytes).toBe(2048);
    const subscription = await bus.subscribe('orders.*');
    await bus.publish('orders.created', 'o-1');
    for await (const message of subscription) {
      expect([message.subject, message.text()]).toEqual(['orders.created', 'o-1']);
      break;
    }
  });

  it('createEventBus({ backend: "loopback" }) takes its options, typed', async () => {
    closeLater = await createEventBus({ backend: 'loopback', maxPayloadBytes: 4096 });
    expect(closeLater).toMatchObject({ backend: 'loopback', capabilities: { maxPayloadBytes: 4096 } });
    // @ts-expect-error maxPayload is not a loopback option: typed by the adapter's augmentation
    const typo = await failure(() => createEventBus({ backend: 'loopback', maxPayload: 1 }));
    expect([typo.code, typo.field]).toEqual(['CONFIG', 'maxPayload']);
  });

  it('URL parameter errors name the parameter; an option set in the URL and in code is refused', async () => {
    const unknown = await failure(() =>
      createEventBusFromEnv({ env: { OMNIBUS_URL: 'loopback://?maxPayloadByte=1' } }),
    );
    expect(unknown.field).toBe('OMNIBUS_URL.maxPayloadByte');
    expect(unknown.message).toContain('did you mean "maxPayloadBytes"');
    const range = await failure(() =>
      createEventBusFromEnv({ env: { OMNIBUS_URL: 'loopback://?maxPayloadBytes=0' } }),
    );
    expect(range.field).toBe('OMNIBUS_URL.maxPayloadBytes');
    const twice = await failure(() =>
      createEventBusFromEnv({
        env: { OMNIBUS_URL: 'loopback://?maxPayloadBytes=10' },
        loopback: { maxPayloadBytes: 20 },
      }),
    );
    expect(twice.field).toBe('OMNIBUS_URL.maxPayloadBytes');
  });

  it('a capability it lacks fails at start-up, like any backend', async () => {
    const error = await failure(() => createEventBus({ backend: 'loopback', require: { replay: true } }));
    expect(error.field).toBe('require.replay');
  });

  it('takes the logger of createEventBusFromEnv, and leaves out onStatus (it has no connection)', async () => {
    const lines: string[] = [];
    closeLater = await createEventBusFromEnv({
      env: { OMNIBUS_URL: 'loopback://' },
      logger: { warn: (line) => lines.push(line) },
      onStatus: () => undefined,
      loopback: { maxPayloadBytes: 100 },
    });
    expect(closeLater).toMatchObject({ capabilities: { maxPayloadBytes: 100 } });
  });
});
