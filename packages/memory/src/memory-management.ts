import type { DriverManagement, GroupInfo, StoredMessage } from '@omnibus/core';
import type { History } from './history.js';
import type { Target } from './target.js';

/**
 * The memory bus's management half: browses and removes what it retains (its `history`
 * when enabled, else the dead letters it always keeps), and reports each group's queue.
 */
export class MemoryManagement implements DriverManagement {
  readonly #retained: History;
  readonly #groups: ReadonlyMap<string, Target>;

  constructor(retained: History, groups: ReadonlyMap<string, Target>) {
    this.#retained = retained;
    this.#groups = groups;
  }

  async *browse(pattern: string): AsyncIterable<StoredMessage> {
    for (const e of this.#retained.matching(pattern, Date.now())) {
      yield {
        ref: String(e.sequence),
        id: e.id,
        subject: e.subject,
        payload: e.payload,
        headers: e.headers,
        publishedAt: e.publishedAt,
      };
    }
  }

  async remove(refs: readonly string[]): Promise<void> {
    this.#retained.remove(new Set(refs.map(Number)));
  }

  async groups(): Promise<GroupInfo[]> {
    return [...this.#groups.values()].map((target) => ({
      group: target.group as string,
      patterns: [target.pattern],
      members: target.members.length,
      ...target.figures(),
    }));
  }
}
