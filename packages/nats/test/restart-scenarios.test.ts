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
  timeoutMs: 30_000,
});
