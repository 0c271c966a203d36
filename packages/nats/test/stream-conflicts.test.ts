// Stream settings that conflict with an existing stream fail `createNatsBus` itself (not the first
// publish or subscribe), releasing the connection; without settings, older streams never fail it.
import { jetstreamManager, type StreamConfig } from '@nats-io/jetstream';
import type * as transport from '@nats-io/transport-node';
import { ConfigError, silentLogger } from '@omnibus/core';
import { uniqueName, withBroker } from '@omnibus/testing';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createNatsBus, type NatsBusOptions } from '../src/index.js';
import { deleteStreams } from './nats-server.js';

/** Every connection `createNatsBus` opens, to check that a failed create closed its own. */
const opened = vi.hoisted(() => [] as { isClosed(): boolean }[]);
vi.mock('@nats-io/transport-node', async (original) => {
  const actual = await original<typeof transport>();
  return {
    ...actual,
    connect: async (options: transport.ConnectionOptions) => {
      const nc = await actual.connect(options);
      opened.push(nc);
      return nc;
    },
  };
});

await withBroker('nats', (broker) => {
  const streams = new Set<string>();
  afterAll(() => deleteStreams(broker.url, streams));
  afterEach(() => {
    opened.length = 0;
  });

  /** Creates a stream directly (as an older bus, or another application, would have). */
  async function existing(config: Partial<StreamConfig> & { name: string; subjects: string[] }) {
    const { connect } = await vi.importActual<typeof transport>('@nats-io/transport-node');
    const nc = await connect({ servers: broker.url });
    try {
      await (await jetstreamManager(nc)).streams.add({ storage: 'file' as never, ...config });
      streams.add(config.name);
    } finally {
      await nc.close();
    }
  }

  const create = (options: NatsBusOptions) =>
    createNatsBus({ url: broker.url, logger: silentLogger, ...options });

  describe('createNatsBus checks existing streams when stream settings are given', () => {
    it('an automatic stream with other settings fails creation, with the hint, and closes the connection', async () => {
      const prefix = uniqueName('CONFL');
      const token = uniqueName('confl');
      const name = `${prefix}_${token}`;
      await existing({ name, subjects: [token, `${token}.>`] });

      const error = await create({ streamPrefix: prefix, streamDefaults: { storage: 'memory' } }).catch(
        (e) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain(`stream ${name} exists with other settings`);
      expect(error.message).toContain('storage is file, config says memory');
      expect(error.hint).toContain('drop the setting');
      expect(error.hint).toContain(`nats stream rm ${name}`);
      expect(opened.length).toBe(1);
      expect(opened[0]?.isClosed()).toBe(true);
    });

    it('an automatic stream with a hashed name (a token that is no safe stream name) is checked too', async () => {
      const prefix = uniqueName('HASH');
      const token = `${uniqueName('h')}~x`;
      // create the stream as a bus would: it picks the name
      const first = await create({ streamPrefix: prefix });
      await first.publish(`${token}.a`, '1');
      for (const s of first.createdStreams) streams.add(s);
      await first.close();
      expect(first.createdStreams).toHaveLength(1);

      const error = await create({ streamPrefix: prefix, streamDefaults: { maxAgeMs: 60_000 } }).catch(
        (e) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain(`stream ${first.createdStreams[0]} exists with other settings`);
      expect(error.message).toContain('max_age is 0 ms, config says 60000 ms');
    });

    it('an explicit stream with other settings fails creation', async () => {
      const name = uniqueName('EXPLC');
      const subject = uniqueName('explc');
      await existing({ name, subjects: [`${subject}.>`], max_age: 60_000 * 1_000_000 });

      const error = await create({ streams: [{ name, subjects: [`${subject}.>`], maxAgeMs: 5_000 }] }).catch(
        (e) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain('max_age is 60000 ms, config says 5000 ms');
      expect(error.hint).toContain(`nats stream rm ${name}`);
      expect(opened[0]?.isClosed()).toBe(true);
    });

    it('existing streams that match the settings pass, and the bus works', async () => {
      const prefix = uniqueName('MATCH');
      const token = uniqueName('match');
      await existing({
        name: `${prefix}_${token}`,
        subjects: [token, `${token}.>`],
        storage: 'memory' as never,
      });

      const bus = await create({ streamPrefix: prefix, streamDefaults: { storage: 'memory' } });
      await bus.publish(`${token}.x`, '1');
      expect(bus.createdStreams).toEqual([]);
      await bus.close();
    });
  });

  describe('a stream of another prefix that holds the subjects (adopted)', () => {
    it('must match the settings too: a new streamPrefix does not get around an existing stream', async () => {
      // the README case: `nats://` made OMNIBUS_orders, then `?streamPrefix=DEMO&storage=memory` ran
      // on it silently (NATS lets only one stream hold a subject, so no DEMO_orders can be made)
      const token = uniqueName('adopt');
      const theirs = uniqueName('THEIRS');
      await existing({ name: theirs, subjects: [token, `${token}.>`] });

      const bus = await create({ streamPrefix: uniqueName('NEW'), streamDefaults: { storage: 'memory' } });
      const error = await bus.publish(`${token}.x`, '1').catch((e) => e);
      await bus.close();
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain(`stream ${theirs} (it already held these subjects`);
      expect(error.message).toContain('storage is file, config says memory');
      expect(error.hint).toContain(`nats stream rm ${theirs}`);
    });

    it('is used as it is when no settings are given', async () => {
      const token = uniqueName('adopt');
      const theirs = uniqueName('THEIRS');
      await existing({ name: theirs, subjects: [token, `${token}.>`], storage: 'memory' as never });

      const bus = await create({ streamPrefix: uniqueName('NEW') });
      expect((await bus.publish(`${token}.x`, '1')).sequence).toBe(`${theirs}:1`);
      await bus.close();
    });
  });

  describe('what creation does not fail on', () => {
    it('a plain bus (no stream settings) never fails creation because of older streams', async () => {
      const prefix = uniqueName('PLAIN');
      const token = uniqueName('plain');
      // an older stream under the prefix with settings a plain bus would not create
      await existing({
        name: `${prefix}_${token}`,
        subjects: [token, `${token}.>`],
        storage: 'memory' as never,
        max_age: 60_000 * 1_000_000,
      });
      const bus = await create({ streamPrefix: prefix });
      await bus.publish(`${token}.x`, '1');
      await bus.close();
    });

    it("a stream of a longer prefix (another application's `<prefix>_OTHER_<token>`) is not taken for ours", async () => {
      const prefix = uniqueName('LONG');
      const token = uniqueName('long');
      // the automatic stream of prefix `<prefix>_OTHER` for `token`: its name starts with `<prefix>_`
      await existing({ name: `${prefix}_OTHER_${token}`, subjects: [token, `${token}.>`] });

      const bus = await create({ streamPrefix: prefix, streamDefaults: { storage: 'memory' } });
      await bus.close();
    });
  });
});
