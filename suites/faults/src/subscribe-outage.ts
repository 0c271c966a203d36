// Subscribing during a broker outage: a bus whose broker was killed is asked
// for a subscription. Back within the wait, the subscription must start and
// receive what is published after; away for good, the call must end in a
// typed ConnectionError within a bounded time — never hang, never start half.
import { ConnectionError, type EventBus } from '@omnibus/core';
import { attempt, type CaseRow, errorName, isTyped } from './cases.js';
import type { Progress } from './scenarios.js';
import { SUITE_PUBLISH_TIMEOUT_MS, type Target } from './targets.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** When the broker comes back in the first case (ms after the subscribe call). */
const BACK_AFTER_MS = 2_000;
/** Slack over the documented bound: the last attempt gets at least 1 s, and a little for the machine. */
const SLACK_MS = 3_000;
/**
 * Names of their own (subjects, and groups: a group has one pattern, and outlives
 * the bus on a durable broker), apart from every other scenario's.
 */
const GONE_GROUP = 'suboutage-gone';
/** Messages a fresh member must receive, all of them, after the broker stayed down. */
const AFTER_COUNT = 20;

/** Waits for the message with `id` on a fresh subscription, publishing it once the subscription is live. */
async function receives(bus: EventBus, subscribe: Promise<AsyncIterable<{ id: string }>>, id: string) {
  const sub = await subscribe;
  await bus.publish('suboutage.back', 'after', { id });
  const deadline = Date.now() + 30_000;
  for await (const m of sub) {
    if (m.id === id) return true;
    if (Date.now() > deadline) return false;
  }
  return false;
}

/** A fresh member of the group that the failed subscribe asked for: how many of `AFTER_COUNT` messages it gets. */
async function allReceived(bus: EventBus): Promise<number> {
  const got = new Set<string>();
  const sub = await bus.consume('suboutage.gone', (m) => void got.add(m.id), { group: GONE_GROUP });
  try {
    for (let i = 0; i < AFTER_COUNT; i++)
      await bus.publish('suboutage.gone', String(i), { id: `suboutage-gone-${i}` });
    const deadline = Date.now() + 30_000;
    while (got.size < AFTER_COUNT && Date.now() < deadline) await sleep(100);
    // a share taken by a left-over member would never arrive here: wait a little for stragglers
    await sleep(500);
    return got.size;
  } finally {
    await sub.close().catch(() => undefined);
  }
}

/** The two cases of one backend; the broker runs again when they end. */
export async function subscribeOutageCases(target: Target, progress: Progress): Promise<CaseRow[]> {
  const { backend } = target;
  const waitMs = target.publishTimeoutMs;
  if (!target.hasBroker) {
    return [
      {
        backend,
        case: 'subscribe during a broker outage',
        expected: 'waits for the broker, bounded',
        observed: 'not applicable: the in-process bus has no broker',
        passed: true,
      },
    ];
  }
  const say = (what: string) => progress(`${backend} · subscribe during an outage · ${what}`);
  const rows: CaseRow[] = [];
  const bus = await target.createBus();
  let down = false;
  const kill = async () => {
    down = true;
    await target.kill();
  };
  const start = async () => {
    await target.start();
    down = false;
  };
  try {
    say(`broker killed, back after ${BACK_AFTER_MS / 1000} s`);
    await kill();
    const restart = sleep(BACK_AFTER_MS).then(start);
    const subscribing = bus.subscribe('suboutage.back', { group: 'suboutage-back' });
    const back = await attempt(() => receives(bus, subscribing, 'suboutage-back-1'));
    await restart;
    rows.push({
      backend,
      case: `subscribe while the broker is down, back after ${BACK_AFTER_MS / 1000} s`,
      expected: `the subscription starts once the broker is back (waits up to ${waitMs / 1000} s) and receives what is published after`,
      observed: back.failed
        ? `${errorName(back.error)} after ${(back.ms / 1000).toFixed(1)} s`
        : back.value
          ? `started and received after ${(back.ms / 1000).toFixed(1)} s`
          : 'started, message not received',
      passed: !back.failed && back.value === true,
    });
    await (await subscribing.catch(() => undefined))?.close();

    say('broker killed for good');
    await kill();
    const gone = await attempt(() => bus.subscribe('suboutage.gone', { group: GONE_GROUP }));
    if (!gone.failed) await gone.value?.close().catch(() => undefined);
    const limit = waitMs + SLACK_MS;
    // nothing half-started: once the broker is back, no member left over from the failed
    // subscribe may take a share of the group's messages
    say('broker back: a fresh member must receive every message');
    await start();
    const fresh = await attempt(() => allReceived(bus));
    rows.push({
      backend,
      case: 'subscribe while the broker stays down',
      expected: `ConnectionError (CONNECTION) after about ${waitMs / 1000} s (at most ${limit / 1000} s); once the broker is back, a fresh member of the group receives all ${AFTER_COUNT} messages (no half-started member left)`,
      observed: `${gone.failed ? errorName(gone.error) : 'subscribed?!'} after ${(gone.ms / 1000).toFixed(1)} s; ${fresh.failed ? `fresh member failed: ${errorName(fresh.error)}` : `fresh member received ${fresh.value}/${AFTER_COUNT}`}`,
      passed:
        gone.failed &&
        isTyped(gone.error, ConnectionError, 'CONNECTION') &&
        gone.ms <= limit &&
        fresh.value === AFTER_COUNT,
    });
  } finally {
    if (down) await start().catch(() => undefined);
    await bus.close({ timeoutMs: 2_000 }).catch(() => undefined);
  }
  return rows;
}

/** The cases' paragraph for docs/reliability.md. */
export const subscribeOutageDoc = `**Subscribing during an outage** (in the bad-input table): the broker is killed under a
connected bus, which is then asked for a grouped subscription. When the broker is back
${BACK_AFTER_MS / 1000} s later, the subscription must start by itself and receive a message published after it;
when the broker stays down, \`subscribe\` must reject with a \`ConnectionError\` after about the
bus's \`publishTimeoutMs\` (${SUITE_PUBLISH_TIMEOUT_MS / 1000} s for the suite's NATS and Redis buses, Kafka's default 30 s), at
most ${SLACK_MS / 1000} s more, and once the broker is back a fresh member of the
same group must receive all ${AFTER_COUNT} messages published — a member half-started by the failed
subscribe would take a share.`;
