import { deadLetterHeaders, describeError } from './dead-letter.js';
import type { OutgoingMessage, SettleInfo } from './driver.js';
import { InvalidArgumentError } from './errors.js';
import type { DeliveredMessage } from './message.js';
import { type BusStatus, type Logger, log } from './operability.js';
import type { StatsCounter } from './stats.js';
import { isValidSubject } from './subject.js';
import type { ResolvedSubscribeOptions } from './validate.js';

/** What dead-lettering needs from its subscription and bus. */
export interface DeadLetterContext {
  readonly backend: string;
  readonly stats: StatsCounter;
  readonly logger: Logger;
  readonly options: Pick<ResolvedSubscribeOptions, 'deadLetter' | 'group' | 'maxAttempts'>;
  /** Publishes the copy (bypasses the bus's closed check: runs during drain too). */
  publishDeadLetter(message: OutgoingMessage): Promise<void>;
  /** Forwards a status event to the bus's `onStatus`. */
  reportStatus(status: BusStatus): void;
  /** The redelivery delay after `attempt` (the subscription's backoff). */
  backoffDelay(attempt: number): number;
}

/** A message whose dead-letter copy was refused, kept to be dead-lettered when it comes back. */
export interface RefusedCopy {
  readonly reason: string;
  readonly error: unknown;
  /** The hand-outs the application saw, written in the copy's headers. */
  readonly attempt: number;
}

/**
 * One subscription's dead-lettering: publishes a copy with the error headers, then acks
 * the original. A copy that is refused never drops the message: it is nakked with backoff
 * and remembered, so that it goes straight back to dead-lettering when it returns.
 */
export class DeadLetterer {
  readonly #ctx: DeadLetterContext;
  #failing = false;
  /**
   * Messages whose dead-letter copy was refused, by id: when they come back (the broker counts
   * the nak as an attempt, so a `term` before `maxAttempts` would otherwise be handed out again)
   * they go straight to the dead-letter attempt. Bounded: the oldest are forgotten past 10,000.
   */
  #refused: Map<string, RefusedCopy> | undefined;

  constructor(ctx: DeadLetterContext) {
    this.#ctx = ctx;
  }

  /** The refused copy of message `id`, when there was one: it must not be handed out again. */
  refusedCopy(id: string): RefusedCopy | undefined {
    return this.#refused?.get(id);
  }

  /**
   * Publishes the dead-letter copy of `message` and acks the original; when the copy is
   * refused, naks the original with backoff instead. Resolves with the subject the copy went to
   * (`undefined` when it was refused); rejects only when that nak fails.
   */
  async deadLetter(message: DeliveredMessage, reason: string, error: unknown): Promise<string | undefined> {
    const { stats, options } = this.#ctx;
    const delivery = message.delivery;
    const target = options.deadLetter(message.subject);
    const info: SettleInfo = { reason: 'dead-letter', handedOut: message.handedOut, error };
    // the hand-outs the application saw: a message dead-lettered without being handed out
    // (redelivered past the limit, or back after a refused copy) saw fewer, never more than maxAttempts
    const seen =
      this.#refused?.get(message.id)?.attempt ??
      (message.handedOut ? message.attempt : Math.max(1, Math.min(message.attempt - 1, options.maxAttempts)));
    // counted before the copy is published: an in-process backend may hand it to a dead-letter
    // consumer before this function resumes, and that consumer should find it counted
    stats.deadLettered++;
    try {
      if (!isValidSubject(target))
        throw new InvalidArgumentError(`dead-letter subject ${JSON.stringify(target)} is invalid`, {
          hint: "the deadLetter function must return a concrete subject (no wildcards), e.g. (subject) => 'dlq.' + subject",
        });
      await this.#ctx.publishDeadLetter({
        id: message.id,
        subject: target,
        payload: message.payload,
        headers: deadLetterHeaders({
          headers: message.headers,
          subject: message.subject,
          id: message.id,
          attempt: seen,
          group: options.group,
          reason,
          error,
        }),
        publishedAt: Date.now(),
        dedupe: false,
      });
    } catch (failure) {
      // never drop: keep the message and try again later, backing off
      stats.deadLettered--;
      stats.errors++;
      this.#copyRefused(target, failure);
      this.#remember(message.id, { reason, error, attempt: seen });
      await delivery.nak(this.#ctx.backoffDelay(message.attempt), { ...info, reason: 'handler-error' });
      stats.nakked++;
      return undefined;
    }
    if (this.#failing) {
      this.#failing = false;
      log(
        this.#ctx.logger,
        'warn',
        `[omnibus:${this.#ctx.backend}] dead-lettering to "${target}" works again`,
      );
      this.#ctx.reportStatus({ type: 'dead_letter_restored', detail: target });
    }
    this.#refused?.delete(message.id);
    try {
      await delivery.ack(info);
    } catch {
      // the copy is stored: counted once; the original is left to the broker, which redelivers it
      // past maxAttempts, and it is dead-lettered again then (a second copy, never a loss)
      stats.errors++;
    }
    log(
      this.#ctx.logger,
      'warn',
      `[omnibus:${this.#ctx.backend}] dead-lettered message ${message.id} from "${message.subject}" to "${target}" at attempt ${message.attempt}${options.group ? ` (group ${options.group})` : ''}: ${reason}${error === undefined ? '' : ` — ${describeError(error)}`}`,
    );
    return target;
  }

  #remember(id: string, entry: RefusedCopy): void {
    this.#refused ??= new Map();
    this.#refused.delete(id);
    this.#refused.set(id, entry);
    if (this.#refused.size > 10_000) this.#refused.delete(this.#refused.keys().next().value as string);
  }

  /** A dead-letter copy was refused: reported once (warn + status) until one goes through again. */
  #copyRefused(target: string, failure: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    const detail = `dead-letter to "${target}" failed: ${describeError(failure)}`;
    log(
      this.#ctx.logger,
      'warn',
      `[omnibus:${this.#ctx.backend}] ${detail}. The message is kept (redelivered with backoff; not handed out again by this subscription) until "${target}" accepts it: make that subject publishable (e.g. a stream covering it when streams are only verified) or set the deadLetter option (reported once until it works again)`,
    );
    this.#ctx.reportStatus({ type: 'dead_letter_failed', detail });
  }
}
