import type { DriverStartPosition } from '@omnibus/core';
import { retrying } from './admin-retry.js';
import type { Admin } from './client.js';
import { keyOf, splitKey } from './partition-drains.js';
import { RETRY_SUFFIX } from './topics.js';

/** What the start plan needs from a consumer loop's context. */
interface PlanContext {
  readonly admin: Admin;
  readonly groupId: string;
  readonly from: DriverStartPosition;
  readonly atMostOnce: boolean;
}

/** The group's committed offsets of these partitions (negative: none), as the member's consumer reads them. */
export type ReadCommitted = (
  partitions: { topic: string; partition: number }[],
) => Promise<{ topic: string; partition: number; offset: string }[]>;

/** Where a subscription's partitions without a committed offset start. */
export interface StartPlan {
  /** Topic → partition → offset (a partition leaves the plan once it was assigned). */
  readonly offsets: Map<string, Map<number, string>>;
  /** At most once, a group planned as empty: its partitions start at the end, committed or not. */
  readonly fromScratch: boolean;
  /**
   * At most once, a group planned as empty: the partitions whose commit moved since the plan (a
   * member that started alongside has handed out from there; its commit stands — a seek back
   * would hand out again what it handed out, a seek forward would skip).
   */
  movedSince(ctx: PlanContext): Promise<Set<string>>;
}

/** True when the consumer group has no members (it is new, or every member left). */
async function groupIsEmpty(ctx: PlanContext): Promise<boolean> {
  const { groups } = await retrying(() => ctx.admin.describeGroups([ctx.groupId]));
  return (groups[0]?.members.length ?? 0) === 0;
}

/**
 * A group's committed offset on each partition of `topics` (negative: none), from the admin
 * client: a coordinator request (at most once only, see `movedSince`).
 */
async function committed(ctx: PlanContext, partitions: Map<string, number[]>) {
  if (partitions.size === 0) return [];
  return retrying(() =>
    ctx.admin.fetchOffsets({
      groupId: ctx.groupId,
      topics: [...partitions].map(([topic, ps]) => ({ topic, partitions: ps })),
    }),
  );
}

/**
 * Where a group starts on partitions it has no committed offset for: `from` on subject topics
 * (the end, the beginning, or offsets-for-times), the end on retry topics. Read before the member
 * joins, so that nothing published after `subscribe` resolves is missed. At most once, a group
 * nobody is in starts at the end of every partition (what was published meanwhile is missed).
 */
export async function startPlan(
  ctx: PlanContext,
  topics: readonly string[],
  readCommitted: ReadCommitted,
): Promise<StartPlan> {
  const offsets = new Map<string, Map<number, string>>();
  const before = new Map<string, string>();
  const { admin, from } = ctx;
  const fresh = topics.length > 0 && ctx.atMostOnce && (await groupIsEmpty(ctx));
  const plan: StartPlan = {
    offsets,
    fromScratch: fresh,
    movedSince: async () => {
      const moved = new Set<string>();
      if (before.size === 0) return moved;
      const partitions = new Map<string, number[]>();
      for (const key of before.keys()) {
        const [topic, partition] = splitKey(key);
        partitions.set(topic, [...(partitions.get(topic) ?? []), partition]);
      }
      for (const { topic, partitions: ps } of await committed(ctx, partitions))
        for (const p of ps) {
          const key = keyOf(topic, p.partition);
          if (before.has(key) && before.get(key) !== p.offset) moved.add(key);
        }
      return moved;
    },
  };
  if (topics.length === 0) return plan;
  const marks = new Map<string, { partition: number; low: string; high: string }[]>();
  for (const topic of topics) marks.set(topic, await retrying(() => admin.fetchTopicOffsets(topic)));
  const partitions = new Map([...marks].map(([topic, ps]) => [topic, ps.map((p) => p.partition)]));
  const now = await readCommitted(
    [...partitions].flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition }))),
  );
  const byTopic = new Map<string, { partition: number; offset: string }[]>();
  for (const c of now) byTopic.set(c.topic, [...(byTopic.get(c.topic) ?? []), c]);
  for (const [topic, ps] of byTopic) {
    if (fresh) for (const p of ps) before.set(keyOf(topic, p.partition), p.offset);
    const missing = new Set(ps.filter((p) => fresh || Number(p.offset) < 0).map((p) => p.partition));
    if (missing.size === 0) continue;
    const retry = topic.endsWith(RETRY_SUFFIX);
    const byTime = !retry && typeof from === 'object';
    const positions: { partition: number; offset?: string; low?: string; high?: string }[] = byTime
      ? await retrying(() => admin.fetchTopicOffsetsByTimestamp(topic, from.time))
      : (marks.get(topic) ?? []);
    const chosen = new Map<number, string>();
    for (const p of positions) {
      if (!missing.has(p.partition)) continue;
      chosen.set(
        p.partition,
        String((byTime ? p.offset : !retry && from === 'earliest' ? p.low : p.high) ?? '0'),
      );
    }
    offsets.set(topic, chosen);
  }
  return plan;
}
