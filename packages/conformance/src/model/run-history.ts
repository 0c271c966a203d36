import { DLQ_HEADERS, type EventBus, type Message, type Subscription } from '@omnibus/core';
import { type Command, GROUP_PATTERNS, type History, type Outcome, PATTERNS, SUBJECTS } from './commands.js';

/** How the model test reaches a backend. */
export interface ModelBackend {
  /** Backend name, used in reports. */
  name: string;
  /** A fresh, connected bus. */
  createBus: () => EventBus | Promise<EventBus>;
  /**
   * True when two buses made by `createBus` share the backend's state (a broker): a second bus
   * then plays another process — group members on it share the group. False for in-process buses.
   */
  sharedState: boolean;
  /**
   * Called after each history with its prefix (the first token of every subject it used, and of
   * its groups' names), once its buses are closed or it was given up: a broker-backed soak deletes
   * what the history created (Kafka topics, groups), so that thousands of histories do not leave
   * thousands of topics behind. Errors are ignored: a clean-up is not part of the contract.
   */
  afterHistory?: (prefix: string) => Promise<void>;
}

/** Settings of the histories (fixed: the oracle relies on them). */
export const MODEL_SETTINGS = { maxAttempts: 3, backoffMs: 20, closeTimeoutMs: 2_000 } as const;

/** How long one history may take to settle, and the ack timeout its subscriptions use. */
export interface HistoryTiming {
  /** `ackTimeoutMs` of every subscription (a `hang` outlives it by 30 %). */
  ackTimeoutMs: number;
  /** Upper bound of the wait for every expected message to reach an end. */
  settleWaitMs: number;
  /** The "nothing else arrives" window after that. */
  quietMs: number;
}

/** One publish, as the publisher saw it. */
export interface PublishRecord {
  seq: number;
  id: string;
  subject: string;
  duplicate: boolean;
  /** Published again with the id of an earlier publish to the same subject. */
  reused: boolean;
}

/** What a member's handler saw and did with one delivery. */
export interface DeliveryRecord {
  target: string;
  member: number;
  id: string;
  subject: string;
  attempt: number;
  /** `acked` counted; `failed` (throw or nak) → retried or dead-lettered by core; `expired`: not settled in time. */
  result: 'acked' | 'failed' | 'termed' | 'expired' | 'unsettled';
  /** Index of this hand-out in the member's own order. */
  order: number;
}

/** A dead-lettered copy, as the dead-letter watcher received it. */
export interface DeadLetterRecord {
  id: string;
  group: string | undefined;
  attempt: number;
  reason: string;
}

/** A subscription or group, as the oracle sees it. */
export interface TargetRecord {
  key: string;
  group: string | undefined;
  pattern: string;
  /** Publishes with `seq >= liveFrom` (and `< liveUntil`) must reach it. */
  liveFrom: number;
  /** Set when an ungrouped subscription closed before the end: it is then not checked for completeness. */
  liveUntil: number | undefined;
  /** Whether every outcome of every member was a success (then per-subject order is checked). */
  allSucceed: boolean;
  maxInFlight: number;
}

/** Everything a history produced, for the oracle. */
export interface Observations {
  prefix: string;
  publishes: PublishRecord[];
  deliveries: DeliveryRecord[];
  deadLetters: DeadLetterRecord[];
  targets: Map<string, TargetRecord>;
  /** Per bus, after its close: the stats and how long `close({ timeoutMs })` took. */
  closes: { bus: string; ms: number; stats: ReturnType<EventBus['stats']> }[];
  dedupe: boolean;
  errors: string[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Member {
  target: TargetRecord;
  sub: Subscription | { close(): Promise<void> };
  bus: 'A' | 'B';
  loop?: Promise<void>;
}

/** Runs one history against a backend and records what happened. Never throws for a contract breach: the oracle judges. */
export async function runHistory(
  backend: ModelBackend,
  history: History,
  prefix: string,
  timing: HistoryTiming,
  progress: { step: string } = { step: '' },
): Promise<Observations> {
  const { maxAttempts, backoffMs, closeTimeoutMs } = MODEL_SETTINGS;
  const { ackTimeoutMs } = timing;
  const hangMs = Math.ceil(ackTimeoutMs * 1.3);
  const busA = await backend.createBus();
  let busB: EventBus | undefined;
  const buses: { name: string; bus: EventBus }[] = [{ name: 'A', bus: busA }];
  const obs: Observations = {
    prefix,
    publishes: [],
    deliveries: [],
    deadLetters: [],
    targets: new Map(),
    closes: [],
    dedupe: busA.capabilities.dedupe === true,
    errors: [],
  };
  const members = new Map<number, Member>();
  let memberCounter = 0;
  let newSubjects = 0;
  const lastIdOf = new Map<string, string>();
  const full = (rest: string) => `${prefix}.${rest}`;

  const dlq = await busA.subscribe(`dlq.${prefix}.>`);
  const dlqLoop = (async () => {
    for await (const m of dlq) {
      obs.deadLetters.push({
        id: m.headers[DLQ_HEADERS.id] ?? m.id,
        group: m.headers[DLQ_HEADERS.group] || undefined,
        attempt: Number(m.headers[DLQ_HEADERS.attempts]),
        reason: m.headers[DLQ_HEADERS.reason] ?? '',
      });
    }
  })();

  const otherBus = async (): Promise<EventBus> => {
    if (!backend.sharedState) return busA;
    if (!busB) {
      busB = await backend.createBus();
      buses.push({ name: `B${buses.length}`, bus: busB });
    }
    return busB;
  };

  const publish = async (subject: string, reuse: boolean) => {
    // dedupe holds for ids the publisher chose: half the publishes choose one, a reuse repeats the last
    const previous = reuse && obs.dedupe ? lastIdOf.get(subject) : undefined;
    const seq = obs.publishes.length;
    const chosen = previous ?? (seq % 2 === 0 ? `${prefix}-p${seq}` : undefined);
    try {
      const receipt = await busA.publish(subject, `m${seq}`, chosen ? { id: chosen } : {});
      obs.publishes.push({
        seq,
        id: receipt.id,
        subject,
        duplicate: receipt.duplicate,
        reused: previous !== undefined,
      });
      if (chosen) lastIdOf.set(subject, chosen);
    } catch (error) {
      obs.errors.push(`publish ${subject}: ${(error as Error).message}`);
    }
  };

  const startMember = async (slot: number, c: Extract<Command, { t: 'subscribe' }>) => {
    const bus = c.otherBus ? await otherBus() : busA;
    const groupName = c.group === undefined ? undefined : `${prefix}-g${c.group}`;
    const patternIndex = c.group === undefined ? c.pattern : (GROUP_PATTERNS[c.group] as number);
    const pattern = full(PATTERNS[patternIndex] as string);
    const key = groupName ?? `s${memberCounter}`;
    const memberId = memberCounter++;
    const succeed = c.outcomes.every((o) => o.kind === 'ack' || o.kind === 'slow');
    let target = obs.targets.get(key);
    const liveFrom = obs.publishes.length;
    const options = {
      group: groupName,
      ack: c.ack,
      maxInFlight: c.maxInFlight,
      maxAttempts,
      ackTimeoutMs,
      backoff: () => backoffMs,
    };
    let order = 0;
    const record = (m: Message): DeliveryRecord => {
      const entry: DeliveryRecord = {
        target: key,
        member: memberId,
        id: m.id,
        subject: m.subject,
        attempt: m.attempt,
        result: 'unsettled',
        order: order++,
      };
      obs.deliveries.push(entry);
      return entry;
    };
    const outcomeFor = (n: number): Outcome => c.outcomes[n % c.outcomes.length] as Outcome;
    let n = 0;
    /** Plays this member's next outcome on `m` (a consume handler's `throw` throws). */
    const play = async (m: Message, iterate: boolean): Promise<void> => {
      const o = outcomeFor(n++);
      const entry = record(m);
      // what a settle counts for: nothing once the ack timeout took the message back
      const settle = async (result: DeliveryRecord['result'], action: () => Promise<void>) => {
        entry.result = m.settled ? 'expired' : result;
        await action();
      };
      switch (o.kind) {
        case 'throw':
          if (!iterate) {
            entry.result = 'failed';
            throw new Error('model: handler failed');
          }
          return settle('failed', () => m.nak({ delayMs: backoffMs }));
        case 'nak':
          return settle('failed', () => m.nak({ delayMs: o.delayMs }));
        case 'term':
          return settle('termed', () => m.term('model: terminated'));
        case 'slow':
          await sleep(o.ms);
          break;
        case 'hang':
          if (iterate && c.ack === 'manual') return; // a forgotten ack
          await sleep(hangMs); // a handler, or a loop body, that outlives the ack timeout
          break;
      }
      // auto: acked when the handler returns or the loop asks for the next message
      return settle('acked', () => (c.ack === 'manual' ? m.ack() : Promise.resolve()));
    };
    let sub: Member['sub'];
    let loop: Promise<void> | undefined;
    try {
      if (c.form === 'consume') {
        sub = await bus.consume(pattern, (m) => play(m, false), options);
      } else {
        const s = await bus.subscribe(pattern, options);
        sub = s;
        loop = (async () => {
          for await (const m of s) await play(m, true);
        })().catch((error) => {
          obs.errors.push(`iterator ${key}: ${(error as Error).message}`);
        });
      }
    } catch (error) {
      obs.errors.push(`subscribe ${key} ${pattern}: ${(error as Error).message}`);
      return;
    }
    if (!target) {
      target = {
        key,
        group: groupName,
        pattern,
        liveFrom,
        liveUntil: undefined,
        allSucceed: succeed,
        maxInFlight: c.maxInFlight,
      };
      obs.targets.set(key, target);
    } else {
      target.allSucceed &&= succeed;
    }
    members.set(slot, { target, sub, bus: bus === busA ? 'A' : 'B', loop });
  };

  /** Closes a member; an ungrouped subscription closed before the end is no longer checked for completeness. */
  const stopMember = async (slot: number, atEnd = false) => {
    const member = members.get(slot);
    if (!member) return;
    members.delete(slot);
    await member.sub.close();
    await member.loop;
    if (member.target.group === undefined && !atEnd) member.target.liveUntil = obs.publishes.length;
  };

  for (const [i, c] of history.commands.entries()) {
    progress.step = `command ${i + 1} of ${history.commands.length}: ${JSON.stringify(c)}`;
    switch (c.t) {
      case 'publish':
        await publish(full(SUBJECTS[c.subject] as string), c.reuseId);
        break;
      case 'publishNew':
        await publish(full(`n${newSubjects++}.x`), false);
        break;
      case 'subscribe':
        await stopMember(c.slot);
        await startMember(c.slot, c);
        break;
      case 'close':
        await stopMember(c.slot);
        break;
      case 'closeOtherBus': {
        if (!busB) break;
        const closing = busB;
        busB = undefined;
        for (const [slot, m] of [...members]) {
          if (m.bus !== 'B') continue;
          members.delete(slot);
          if (m.target.group === undefined) m.target.liveUntil = obs.publishes.length;
        }
        const started = performance.now();
        await closing.close({ timeoutMs: closeTimeoutMs });
        const entry = buses.find((b) => b.bus === closing);
        obs.closes.push({ bus: entry?.name ?? 'B', ms: performance.now() - started, stats: closing.stats() });
        break;
      }
      case 'wait':
        await sleep(c.ms);
        break;
    }
  }

  // every group ever created gets a member that acks everything, so what it holds is handled
  progress.step = 'starting the members that drain the groups';
  for (const target of obs.targets.values()) {
    if (target.group === undefined) continue;
    if ([...members.values()].some((m) => m.target === target)) continue;
    const slot = 1_000 + members.size;
    await startMember(slot, {
      t: 'subscribe',
      slot,
      pattern: 0,
      group: Number(target.group.slice(target.group.lastIndexOf('-g') + 2)),
      form: 'consume',
      ack: 'auto',
      maxInFlight: 4,
      outcomes: [{ kind: 'ack' }],
      otherBus: false,
    });
  }

  // wait (bounded) until every expected message reached an end on every target
  progress.step = 'waiting for every message to reach an end';
  const deadline = Date.now() + timing.settleWaitMs;
  while (Date.now() < deadline && !allSettled(obs)) await sleep(25);
  await sleep(timing.quietMs); // anything delivered twice shows up here

  progress.step = 'closing the subscriptions at the end';
  for (const slot of [...members.keys()]) await stopMember(slot, true);
  progress.step = 'closing the buses at the end';
  for (const { name, bus } of buses) {
    if (name !== 'A' && bus !== busB) continue; // closed by a command already
    const started = performance.now();
    await bus.close({ timeoutMs: closeTimeoutMs });
    obs.closes.push({ bus: name, ms: performance.now() - started, stats: bus.stats() });
  }
  progress.step = 'ending the dead-letter watcher';
  await dlqLoop.catch(() => undefined);
  return obs;
}

/**
 * `runHistory`, bounded: a history that has not finished `limitMs` after it started is a
 * breach of its own (an operation that never returns — a close, a subscribe, a publish),
 * reported with the step it was stuck at. The stuck history is left behind (nothing can
 * cancel it); the runner goes on with the verdict.
 */
export async function runHistoryWithin(
  limitMs: number,
  ...args: Parameters<typeof runHistory>
): Promise<Observations | { stuck: string }> {
  const progress = { step: 'creating the first bus' };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stuck = new Promise<{ stuck: string }>((resolve) => {
    timer = setTimeout(
      () => resolve({ stuck: `the history did not finish within ${limitMs} ms: stuck at ${progress.step}` }),
      limitMs,
    );
  });
  try {
    return await Promise.race([runHistory(args[0], args[1], args[2], args[3], progress), stuck]);
  } finally {
    clearTimeout(timer);
    await args[0].afterHistory?.(args[2]).catch(() => undefined);
  }
}

/** The messages a target must handle: published (not as a duplicate) to a matching subject while it was live. */
export function expectedFor(
  obs: Observations,
  target: TargetRecord,
  matches: (pattern: string, subject: string) => boolean,
) {
  return obs.publishes.filter(
    (p) =>
      !p.duplicate &&
      p.seq >= target.liveFrom &&
      (target.liveUntil === undefined || p.seq < target.liveUntil) &&
      matches(target.pattern, p.subject),
  );
}

let matcher: ((pattern: string, subject: string) => boolean) | undefined;
/** @internal set by the oracle module (core's matcher) */
export function setMatcher(m: (pattern: string, subject: string) => boolean): void {
  matcher = m;
}

/** True when every message every checked target expects has reached an end (acked, dead-lettered). */
export function allSettled(obs: Observations): boolean {
  if (!matcher) return true;
  for (const target of obs.targets.values()) {
    if (target.liveUntil !== undefined) continue;
    for (const p of expectedFor(obs, target, matcher)) {
      if (!endOf(obs, target.key, p.id)) return false;
    }
  }
  return true;
}

/** How a message ended on a target: acked, or dead-lettered (by term, the last failed attempt, or the last ack timeout). */
export function endOf(obs: Observations, target: string, id: string): 'acked' | 'dead-lettered' | undefined {
  let end: 'acked' | 'dead-lettered' | undefined;
  for (const d of obs.deliveries) {
    if (d.target !== target || d.id !== id) continue;
    if (d.result === 'acked') end = 'acked';
    else if (d.result === 'termed') end = 'dead-lettered';
    else if (
      d.attempt >= MODEL_SETTINGS.maxAttempts &&
      (d.result === 'failed' || d.result === 'expired' || d.result === 'unsettled')
    )
      end = end ?? 'dead-lettered';
  }
  if (end === 'dead-lettered') {
    // the copy must have arrived too
    const group = obs.targets.get(target)?.group;
    if (!obs.deadLetters.some((x) => x.id === id && x.group === group)) return undefined;
  }
  return end;
}
