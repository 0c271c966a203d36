import { type DriverStartPosition, subjectMatches } from '@omnibus/core';
import type { Envelope } from './envelope.js';

/** Bounded log of recent messages for replay (`from: 'earliest' | { time }`). */
export class History {
  readonly #items: Envelope[] = [];
  readonly #maxMessages: number;
  readonly #maxAgeMs: number;

  constructor(maxMessages: number, maxAgeMs: number) {
    this.#maxMessages = maxMessages;
    this.#maxAgeMs = maxAgeMs;
  }

  append(envelope: Envelope): void {
    this.#items.push(envelope);
    if (this.#items.length > this.#maxMessages) this.#items.shift();
  }

  /** Every retained message matching `pattern`, oldest first (a copy: safe to remove while reading). */
  matching(pattern: string, now: number): Envelope[] {
    return this.replay(pattern, 'earliest', now);
  }

  /** Forgets the retained messages with these sequence numbers. */
  remove(sequences: ReadonlySet<number>): void {
    let kept = 0;
    for (const e of this.#items) if (!sequences.has(e.sequence)) this.#items[kept++] = e;
    this.#items.length = kept;
  }

  /** Retained messages matching `pattern` from `from` on, oldest first. */
  replay(pattern: string, from: DriverStartPosition, now: number): Envelope[] {
    if (from === 'new') return [];
    const oldest = now - this.#maxAgeMs;
    while (this.#items.length > 0 && (this.#items[0] as Envelope).publishedAt < oldest) this.#items.shift();
    const since = from === 'earliest' ? Number.NEGATIVE_INFINITY : from.time;
    return this.#items.filter((e) => e.publishedAt >= since && subjectMatches(pattern, e.subject));
  }
}
