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
