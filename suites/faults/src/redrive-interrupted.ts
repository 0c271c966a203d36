import { type EventBus, manage, silentLogger } from '@omnibus/core';
import { History } from './history.js';
import { type FaultRow, type Progress, rowWithout } from './scenarios.js';
import type { Target } from './targets.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A small seeded generator (mulberry32): the same interruption points every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Runs `fn` again (every 2 s, for up to 90 s) while it fails: right after a broker restart a
 * read may fail until the broker has loaded its state (Kafka's group coordinator).
 */
async function afterRestart<T>(fn: () => Promise<T>): Promise<T> {
  const until = Date.now() + 90_000;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > until) throw error;
      await sleep(2_000);
    }
  }
}

/** Dead letters of this run, counted through the management API. */
async function deadLettersLeft(bus: EventBus, where: string): Promise<number> {
  let n = 0;
  let after: string | undefined;
  for (;;) {
    const page = await manage(bus).deadLetters.list({ in: where, limit: 1_000, ...(after ? { after } : {}) });
    n += page.items.length;
    if (!page.next) return n;
    after = page.next;
  }
}

/**
 * A redrive interrupted at random moments: `total` messages dead-lettered on purpose, then
 * redriven in rounds, each stopped by its AbortSignal after a random number of messages (on a
 * broker, one round is cut by a broker kill and restart instead), and a last round run to the
 * end. Every dead letter must reach the handler at least once and none may be left dead-lettered;
 * a message republished by a cut round and redriven again is a duplicate (at-least-once), counted.
 */
export async function redriveInterrupted(
  target: Target,
  progress: Progress,
  total = 1_000,
  rounds = 5,
): Promise<FaultRow> {
  const scenario = 'redrive interrupted 5 times';
  const bus = await target.createBus({ logger: silentLogger });
  const history = new History();
  const subject = `redrive.r${Date.now().toString(36)}.x`;
  const where = `dlq.${subject}`;
  const started = Date.now();
  const notes: string[] = [];
  try {
    if (!bus.capabilities.management) {
      const note = 'not run: the adapter declares no management API (capabilities.management)';
      return rowWithout(target.backend, scenario, true, note);
    }
    const failing = await bus.consume(
      subject,
      () => {
        throw new Error('the bug that killed them');
      },
      { maxAttempts: 1 },
    );
    for (let i = 0; i < total; i++) {
      const id = `dl-${i}`;
      history.publish(id, subject, 'p');
      await bus.publish(subject, `m${i}`, { id });
      history.outcome(id, 'acknowledged');
    }
    const deadline = Date.now() + 120_000;
    while ((await deadLettersLeft(bus, where)) < total && Date.now() < deadline) await sleep(200);
    await failing.close();
    const fixed = await bus.consume(subject, (m) => history.deliver(m.id, 'fixed', m.attempt));
    const random = seeded(20261206);
    let republished = 0;
    for (let round = 0; round < rounds; round++) {
      const left = await afterRestart(() => deadLettersLeft(bus, where));
      const stopAfter = 1 + Math.floor(random() * Math.max(1, Math.floor(left / 3)));
      const stop = new AbortController();
      const cutByBroker = target.hasBroker && round === 2;
      progress(`${target.backend} · ${scenario} · round ${round + 1}: ${left} left, cut after ${stopAfter}`);
      const restart = cutByBroker ? { done: false } : undefined;
      const report = await manage(bus)
        .deadLetters.redrive(
          { in: where },
          {
            signal: stop.signal,
            onProgress: (p) => {
              if (p.done < stopAfter) return;
              if (!restart) return stop.abort();
              if (restart.done) return;
              restart.done = true;
              void (async () => {
                await target.kill();
                await sleep(500);
                await target.start();
                stop.abort();
              })();
            },
          },
        )
        .catch((error: unknown) => {
          notes.push(`round ${round + 1} failed: ${(error as Error)?.message ?? error}`);
          return undefined;
        });
      if (report) republished += report.done;
      if (cutByBroker) {
        // let the restart finish before the next round reads
        const until = Date.now() + 60_000;
        while (!stop.signal.aborted && Date.now() < until) await sleep(100);
      }
    }
    const last = await afterRestart(() => manage(bus).deadLetters.redrive({ in: where }));
    republished += last.done;
    const waitUntil = Date.now() + 90_000;
    while (history.missing() > 0 && Date.now() < waitUntil) await sleep(100);
    const left = await afterRestart(() => deadLettersLeft(bus, where));
    await fixed.close();
    const r = history.check();
    notes.push(
      `${republished} republished for ${total} dead letters in ${rounds} cut rounds and a last one${target.hasBroker ? ' (round 3 cut by a broker kill and restart)' : ''}; ${left} left dead-lettered; ran ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    if (r.lost > 0) notes.unshift(`never redriven: ${r.lostIds.join(', ')}`);
    return {
      backend: target.backend,
      scenario,
      published: r.published,
      acknowledged: r.acknowledged,
      lost: r.lost,
      duplicates: r.duplicates,
      // redrive order is not part of the contract: a cut round's message may come again later
      outOfOrder: 0,
      recoveryMs: null,
      passed: r.lost === 0 && left === 0 && r.unexpected === 0,
      note: notes.join('; '),
    };
  } finally {
    await bus.close({ timeoutMs: 2_000 }).catch(() => undefined);
  }
}

/** The docs/reliability.md paragraph for this scenario. */
export const redriveInterruptedDoc =
  '- **redrive interrupted 5 times** — 1,000 messages dead-lettered on purpose (a handler that throws, `maxAttempts: 1`), then redriven with `manage(bus).deadLetters.redrive` in 5 rounds, each stopped by its `AbortSignal` after a seeded random number of messages (on a broker, round 3 is cut by killing the broker and starting it again instead), and a last round run to the end. Passes when every dead letter reached the fixed handler at least once and none is left dead-lettered; duplicates (a message republished by a cut round before its dead letter was removed) are counted, not failed — a redrive is at-least-once, never zero times.';
