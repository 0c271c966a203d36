// The memory bus's at-most-once path: subscriptions that receive every matching publish (both
// levels) straight from `publish`, with no queue, no acks and no redelivery. A group shares its
// traffic round-robin over its members. A subscriber that falls behind skips its oldest waiting
// messages in core (SubscriptionRuntime), never here: publishing never waits for it.
import type { DeliverySink, InboundDelivery, OutgoingMessage } from '@omnibus/core';
import { atMostOnceDelivery, SubjectIndex } from '@omnibus/core';

/** The subscribers of one at-most-once pattern (ungrouped: one; a group: its members). */
class FastTarget {
  readonly pattern: string;
  readonly group: string | undefined;
  readonly sinks: DeliverySink[] = [];
  #next = 0;

  constructor(pattern: string, group: string | undefined) {
    this.pattern = pattern;
    this.group = group;
  }

  deliver(delivery: InboundDelivery): void {
    const { sinks } = this;
    if (sinks.length === 0) return;
    const sink = sinks[this.#next++ % sinks.length] as DeliverySink;
    sink.push(delivery);
  }
}

/** Every at-most-once subscription of one memory bus. */
export class FastPath {
  readonly #index = new SubjectIndex<FastTarget>();
  readonly #groups = new Map<string, FastTarget>();
  #count = 0;

  /** Whether anyone listens (publishing skips the index lookup otherwise). */
  get active(): boolean {
    return this.#count > 0;
  }

  /** Hands `message` (its own copy of the payload) to each matching subscription. */
  deliver(message: OutgoingMessage, payload: Uint8Array): void {
    for (const target of this.#index.match(message.subject))
      target.deliver(atMostOnceDelivery({ ...message, payload }));
  }

  /** Adds a subscription; returns what removes it. */
  add(pattern: string, group: string | undefined, sink: DeliverySink): () => void {
    let target = group === undefined ? undefined : this.#groups.get(`${group}\u0000${pattern}`);
    if (!target) {
      target = new FastTarget(pattern, group);
      this.#index.add(pattern, target);
      if (group !== undefined) this.#groups.set(`${group}\u0000${pattern}`, target);
    }
    const t = target;
    t.sinks.push(sink);
    this.#count++;
    return () => {
      const i = t.sinks.indexOf(sink);
      if (i < 0) return;
      t.sinks.splice(i, 1);
      this.#count--;
      if (t.sinks.length === 0) {
        this.#index.remove(pattern, t);
        if (group !== undefined) this.#groups.delete(`${group}\u0000${pattern}`);
      }
    };
  }
}
