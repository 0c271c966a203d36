import { silentLogger } from '@omnibus/core';
import { createNatsBus, type NatsBus } from '../src/index.js';

/** nats-server on a spare port, started and stopped by this test process (see @omnibus/testing). */
export { type LocalBroker as LocalNatsServer, startLocalNats as startNatsServer } from '@omnibus/testing';

/** Deletes streams on the broker at `url` (test clean-up; missing ones are ignored). */
export async function deleteStreams(url: string, names: Iterable<string>): Promise<void> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  for (const name of names) await jsm.streams.delete(name).catch(() => false);
  await nc.close();
}

/**
 * A bus for the shared test server (streams under `OMNIBUS_TEST`, silent) that adds the streams
 * it created to `created` when it closes, so the test file can delete them afterwards.
 */
export async function testBus(url: string, created: Set<string>): Promise<NatsBus> {
  const bus = await createNatsBus({ url, streamPrefix: 'OMNIBUS_TEST', logger: silentLogger });
  const close = bus.close.bind(bus);
  bus.close = async (options) => {
    for (const name of bus.createdStreams) created.add(name);
    await close(options);
  };
  return bus;
}
