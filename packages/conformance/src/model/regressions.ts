import type { Command } from './commands.js';

/** A history that once broke the contract on some backend, kept so that every backend replays it. */
export interface ModelRegression {
  /** What it found, where and when. */
  readonly found: string;
  readonly commands: Command[];
}

/**
 * The shrunk histories the model-based test and its soaks have found, replayed on every backend
 * by each adapter's model test (`checkContractHistory`). Add each new failure here with its fix.
 */
export const MODEL_REGRESSIONS: readonly ModelRegression[] = [
  {
    found:
      'NATS, 2026-12-05 soak: nats-server < 2.10.14 sent a redelivery twice after a pull whose client stopped listening; attempts read 1, 2, 1 (under load)',
    commands: [
      {
        t: 'subscribe',
        slot: 0,
        pattern: 0,
        group: undefined,
        form: 'consume',
        ack: 'auto',
        maxInFlight: 2,
        outcomes: [{ kind: 'hang' }],
        otherBus: false,
      },
      { t: 'publish', subject: 0, reuseId: true },
      {
        t: 'subscribe',
        slot: 2,
        pattern: 0,
        group: undefined,
        form: 'consume',
        ack: 'manual',
        maxInFlight: 1,
        outcomes: [{ kind: 'ack' }, { kind: 'slow', ms: 42 }],
        otherBus: false,
      },
    ],
  },
  {
    found:
      "NATS, 2026-12-05 soak (8 runners): a group member's own delivery count ignored the copies other members saw; attempts read 1, 2, 2, 3",
    commands: [
      {
        t: 'subscribe',
        slot: 0,
        pattern: 0,
        group: 0,
        form: 'consume',
        ack: 'auto',
        maxInFlight: 1,
        outcomes: [{ kind: 'throw' }],
        otherBus: false,
      },
      { t: 'publishNew' },
      {
        t: 'subscribe',
        slot: 2,
        pattern: 0,
        group: 0,
        form: 'consume',
        ack: 'auto',
        maxInFlight: 1,
        outcomes: [{ kind: 'ack' }],
        otherBus: false,
      },
      {
        t: 'subscribe',
        slot: 2,
        pattern: 0,
        group: undefined,
        form: 'consume',
        ack: 'auto',
        maxInFlight: 1,
        outcomes: [{ kind: 'throw' }],
        otherBus: false,
      },
      { t: 'wait', ms: 0 },
      { t: 'closeOtherBus' },
    ],
  },
  {
    found:
      "Kafka, 2026-12-05 soak (8 runners): a member's commit went out after the rebalance a joining member started (new generation, refused); the new owner read acked messages again",
    commands: [
      {
        t: 'subscribe',
        slot: 0,
        pattern: 0,
        group: 0,
        form: 'consume',
        ack: 'auto',
        maxInFlight: 1,
        outcomes: [{ kind: 'hang' }, { kind: 'ack' }],
        otherBus: false,
      },
      { t: 'publish', subject: 0, reuseId: true },
      {
        t: 'subscribe',
        slot: 1,
        pattern: 0,
        group: 0,
        form: 'consume',
        ack: 'auto',
        maxInFlight: 1,
        outcomes: [{ kind: 'throw' }],
        otherBus: false,
      },
      { t: 'close', slot: 0 },
      { t: 'publish', subject: 0, reuseId: true },
    ],
  },
  {
    found:
      'NATS, 2026-12-06 soak (8 runners): a copy the server sent to a pull nobody handled counted as an attempt on a group; attempts read 1, 3 (also: dead-lettered at attempt 3 after 2 hand-outs)',
    commands: [
      { t: 'close', slot: 0 },
      {
        t: 'subscribe',
        slot: 1,
        pattern: 0,
        group: 0,
        form: 'consume',
        ack: 'manual',
        maxInFlight: 2,
        outcomes: [{ kind: 'ack' }, { kind: 'hang' }, { kind: 'ack' }],
        otherBus: false,
      },
      { t: 'publishNew' },
      { t: 'publish', subject: 1, reuseId: false },
      { t: 'publishNew' },
      { t: 'publishNew' },
      { t: 'close', slot: 0 },
    ],
  },
  {
    found:
      'NATS, 2026-12-05 soak (8 runners): copies lost on the wire counted as attempts on a group; after 2 hand-outs that expired the message arrived past maxAttempts and was dead-lettered unseen',
    commands: [
      {
        t: 'subscribe',
        slot: 0,
        pattern: 1,
        group: 1,
        form: 'consume',
        ack: 'auto',
        maxInFlight: 2,
        outcomes: [{ kind: 'hang' }],
        otherBus: false,
      },
      { t: 'publish', subject: 2, reuseId: false },
      { t: 'publish', subject: 1, reuseId: false },
    ],
  },
];
