// The broker restart and pause scenarios of the conformance kit, on a nats-server this file starts
// itself (JetStream on a file store: a restart keeps what was acknowledged) and breaks with its own
// commands: SIGKILL and start again; SIGSTOP, then SIGCONT.
import { silentLogger } from '@omnibus/core';
import { runRestartScenarios, startLocalNats } from '@omnibus/testing';
import { afterAll } from 'vitest';
import { createNatsBus } from '../src/index.js';

const nats = await startLocalNats();
afterAll(() => nats.dispose());

runRestartScenarios({
  name: 'nats',
  createBus: () =>
    createNatsBus({
      url: nats.url,
      publishTimeoutMs: 1_000,
      connectOptions: { pingInterval: 1_000, maxPingOut: 2 },
      logger: silentLogger,
    }),
  restart: async () => {
    await nats.kill();
    await nats.restart();
  },
  pause: () => nats.pause(true),
  resume: () => nats.pause(false),
  pauseMs: 5_000, // past the 2 unanswered pings (1 s apart) after which the client reconnects
  // a copy the server sent into the pause (a pull lost on the wire) comes back after the consumer's
  // ack_wait: ackTimeoutMs (30 s by default) + 1 s. The delivery wait must outlast it (a CI run
  // under load once waited 30 s for one such copy and failed at 36 s).
  timeoutMs: 45_000,
});
