import type { BatchEntry, EventBus } from '@omnibus/core';
import { type BenchScenario, measureConsumeRate, rate } from './bench.js';

/** Entries are published in batches of this many. */
const BATCH = 1_000;

/** What the broker holds, read before and after the first round (counts of keys, streams, topics; bytes). */
export type BrokerFootprint = () => Promise<Record<string, number>>;

/** Options of {@link cardinalityScenarios}. */
export interface CardinalityOptions {
  /** How many distinct subjects (and messages: one each). */
  readonly subjects: number;
  readonly payload: Uint8Array;
  /** Reads what the broker holds; its growth over the first round becomes a note of the part. */
  readonly footprint?: BrokerFootprint;
  /** Adds a line under the part's table. */
  readonly note: (line: string) => void;
}

/** The groups the scenarios make in round `round` (for benches that must remove them by name). */
export function cardinalityGroups(round: number): string[] {
  return ['m', 'o'].flatMap((side) => [`card-sub-${round}${side}`, `card-read-${round}${side}`]);
}

/**
 * Subject cardinality: `subjects` distinct subjects under one wildcard group, against the same
 * number of messages on one subject (the ratio is what the cardinality costs). Three rows: the
 * publish of one message to each subject (in batches of 1,000), the `consume` of a wildcard group
 * over the subjects that exist (until it resolves), and that group's consume of every message.
 * Without replay (`capabilities.replay` false) the reading group is made, untimed, before the
 * publish, and keeps the messages until its consume row (a bus that drops what a memberless
 * group holds past a limit needs room for `subjects` messages).
 * Each round uses a first token of its own (`card<run><round>`), so each starts from nothing;
 * the footprint's growth over the first Omnibus round is noted under the table.
 */
export function cardinalityScenarios(bus: EventBus, options: CardinalityOptions): BenchScenario[] {
  const { subjects, payload } = options;
  const run = Date.now().toString(36);
  const side = (many: boolean) => (many ? 'm' : 'o');
  /** The first token of a round's subjects: made by the publish row, read by the two after it. */
  const prefixOf = (round: number, many: boolean) => `card${run}r${round}${side(many)}`;
  /** The prefixes the publish row has filled. */
  const published = new Set<string>();
  let footprintNoted = false;

  const publish = async (prefix: string, many: boolean): Promise<number> => {
    const t = performance.now();
    for (let i = 0; i < subjects; i += BATCH) {
      const entries: BatchEntry[] = [];
      for (let j = i; j < Math.min(subjects, i + BATCH); j++)
        entries.push({ subject: many ? `${prefix}.s${j}.created` : `${prefix}.one.created`, payload });
      await bus.publishBatch(entries);
    }
    return rate(subjects, performance.now() - t);
  };
  const replay = bus.capabilities.replay;
  const readGroup = (round: number, many: boolean) => `card-read-${round}${side(many)}`;
  const publishRound = (many: boolean) => async (round: number) => {
    const prefix = prefixOf(round, many);
    published.add(prefix);
    if (!replay) {
      // no replay: the reading group exists before the publish (untimed) and keeps what comes
      const c = await bus.consume(`${prefix}.*.created`, () => undefined, { group: readGroup(round, many) });
      await c.close();
    }
    const measureFootprint = many && !footprintNoted && options.footprint;
    const before = measureFootprint ? await options.footprint?.() : undefined;
    const result = await publish(prefix, many);
    if (measureFootprint && before) {
      footprintNoted = true;
      const after = (await options.footprint?.()) ?? {};
      const grew = Object.entries(after).map(([k, v]) => `${k} +${formatCount(v - (before[k] ?? 0))}`);
      options.note(
        `Cardinality: publishing one message to each of ${formatCount(subjects)} subjects grew the broker by ${grew.join(', ')}.`,
      );
    }
    return result;
  };
  const publishedPrefix = (round: number, many: boolean) => {
    const prefix = prefixOf(round, many);
    if (!published.has(prefix))
      throw new Error(`round ${round}: its subjects were not published (the publish row runs first)`);
    return prefix;
  };
  const subscribeRound = (many: boolean) => async (round: number) => {
    const t = performance.now();
    const c = await bus.consume(`${publishedPrefix(round, many)}.*.created`, () => undefined, {
      group: `card-sub-${round}${side(many)}`,
      from: 'new',
    });
    const ms = performance.now() - t;
    await c.close();
    return ms;
  };
  const consumeRound = (many: boolean) => (round: number) =>
    measureConsumeRate(
      subjects,
      async (onMessage) => {
        const c = await bus.consume(`${publishedPrefix(round, many)}.*.created`, onMessage, {
          group: readGroup(round, many),
          from: replay ? 'earliest' : 'new',
          maxInFlight: 500,
        });
        return () => c.close();
      },
      'wildcard group consume',
    );
  const n = formatCount(subjects);
  const peer = `${n} messages on one subject`;
  return [
    {
      name: `${n} subjects: publish one message to each, batches of 1,000 (${subjects})`,
      unit: 'msg/s',
      omnibus: publishRound(true),
      peers: { [peer]: publishRound(false) },
    },
    {
      name: `${n} subjects: a wildcard group's consume resolves`,
      unit: 'ms',
      omnibus: subscribeRound(true),
      peers: { [peer]: subscribeRound(false) },
    },
    {
      name: `${n} subjects: a wildcard group consumes every message (${subjects})`,
      unit: 'msg/s',
      omnibus: consumeRound(true),
      peers: { [peer]: consumeRound(false) },
    },
  ];
}

const formatCount = (n: number) => n.toLocaleString('en-US');
