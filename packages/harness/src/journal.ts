import type { EventDefinition, Headers, InferOutput, PublishReceipt, StandardSchemaV1 } from '@omnibus/core';

/** What every journal entry says about its message. */
export interface JournalEntry<T = unknown> {
  /** The real subject the message was published to. */
  readonly subject: string;
  readonly id: string;
  readonly headers: Readonly<Headers>;
  /** The payload decoded: parsed JSON, else the UTF-8 text, else the bytes. */
  readonly payload: T;
  /** The payload exactly as published. */
  readonly bytes: Uint8Array;
  readonly publishedAt: Date;
  /** When the harness recorded it (`Date.now()`: the fake clock when timers are faked). */
  readonly at: Date;
}

/** A message the backend accepted from a publisher (the code under test, or the test). */
export interface PublishedEntry<T = unknown> extends JournalEntry<T> {
  readonly kind: 'published';
  readonly receipt: PublishReceipt;
}

/**
 * How one delivery ended: `acked`; `retried` (given back for redelivery: the handler threw,
 * timed out, or nakked — `error` says which); `dead-lettered`; `released` (given back on close
 * or unseen); `refused` (the backend refused the settle; it redelivers after its ack timeout).
 */
export type ConsumedOutcome = 'acked' | 'retried' | 'dead-lettered' | 'released' | 'refused';

/** One delivery to a subscription or `consume` handler, and how it ended. */
export interface ConsumedEntry<T = unknown> extends JournalEntry<T> {
  readonly kind: 'consumed';
  readonly attempt: number;
  readonly outcome: ConsumedOutcome;
  /** The handler's error (or the ack timeout's `TimeoutError`), when it failed. */
  readonly error?: unknown;
  /** The pattern subscribed to, and its group. */
  readonly pattern: string;
  readonly group: string | undefined;
  /** False when the bus settled it without handing it to the application (e.g. past `maxAttempts`). */
  readonly handedOut: boolean;
}

/** A message dead-lettered by a subscription: why, after which attempt, and where its copy went. */
export interface DeadLetteredEntry<T = unknown> extends JournalEntry<T> {
  readonly kind: 'dead-lettered';
  readonly attempt: number;
  /** The `omnibus-dlq-reason` of the copy. */
  readonly reason: string;
  readonly error?: unknown;
  readonly deadLetterSubject: string;
  readonly pattern: string;
  readonly group: string | undefined;
}

/** Any entry. */
export type Entry = PublishedEntry | ConsumedEntry | DeadLetteredEntry;

/** What to look for: a subject or pattern (`orders.*.created`, `orders.>`), or a typed event. */
export type Query = string | EventDefinition<StandardSchemaV1>;

/** The payload type a query gives: the event's output type, or `T` for a pattern. */
export type PayloadOf<Q, T = unknown> = Q extends EventDefinition<infer S> ? InferOutput<S> : T;

/** A partial payload: every key given must match (deeply); a `RegExp` tests a string. */
export type PartialPayload<T> = T extends string
  ? T | RegExp
  : T extends readonly (infer U)[]
    ? readonly PartialPayload<U>[]
    : T extends object
      ? { readonly [K in keyof T]?: PartialPayload<T[K]> }
      : T;

/** A filter on entries: a partial payload, or a predicate on the payload and the entry. */
export type Where<T, E> = PartialPayload<T> | ((payload: T, entry: E) => boolean);

/** The subject pattern a query looks at. */
export function patternOf(query: Query): string {
  return typeof query === 'string' ? query : query.subject;
}
