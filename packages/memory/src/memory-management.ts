import type { DriverManagement, GroupInfo, StoredMessage } from '@omnibus/core';
import type { History } from './history.js';
import type { Target } from './target.js';

/**
 * The memory bus's management half: browses and removes its dead letters (kept in a store of
 * their own, the newest 10,000, whatever the `history` holds; a removal takes them out of the
 * history too), and reports each group's queue.
 */
export class MemoryManagement implements DriverManagement {
  readonly #retained: History;
  readonly #history: History | undefined;
  readonly #groups: ReadonlyMap<string, Target>;

  constructor(deadLetters: History, history: History | undefined, groups: ReadonlyMap<string, Target>) {
    this.#retained = deadLetters;
    this.#history = history;
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
    const sequences = new Set(refs.map(Number));
    this.#retained.remove(sequences);
    this.#history?.remove(sequences);
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
