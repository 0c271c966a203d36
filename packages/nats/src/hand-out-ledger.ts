import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { isStreamNotFound } from './nats-errors.js';

/** The stream holding hand-out counts (subjects under `_omnibus.handouts.`, reserved for Omnibus). */
export const LEDGER_STREAM = 'OMNIBUS_HANDOUTS';
const LEDGER_PREFIX = '_omnibus.handouts';
const DAY_NS = 24 * 60 * 60 * 1_000_000_000;

/**
 * Remembers how often each redelivered message of a group was handed out.
 *
 * JetStream counts every delivery: one to a member that closes before its handler
 * saw the message, and one lost on the wire (nats-server < 2.10.14 sends a copy to a
 * pull request whose client stopped listening, nats-io/nats-server#5305). The
 * contract counts hand-outs only, and a group's consumer is shared, so no member can
 * count for the others. So the count is kept here (the last message on
 * `_omnibus.handouts.<stream>.<consumer>.<seq>`): written when a handed-out message
 * goes back (nak, handler error, ack timeout, close) and when a redelivery is handed
 * out (so that a member that dies holding it still counted it); read only for
 * redeliveries. A first delivery costs nothing. A redelivery without a record was
 * handed out at most once, by a member that died holding it, or never: it counts as
 * attempt 1 (a first hand-out lost with its member is not counted; every later one
 * is, so a message that kills its handler still reaches `maxAttempts`).
 * Entries are purged once the message is settled for good and expire after 7 days.
 */
export class HandOutLedger {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  #ready: Promise<void> | undefined;

  constructor(js: JetStreamClient, jsm: JetStreamManager) {
    this.#js = js;
    this.#jsm = jsm;
  }

  static subject(stream: string, consumer: string, seq: number): string {
    return `${LEDGER_PREFIX}.${stream}.${consumer}.${seq}`;
  }

  /** How many times this message was handed out so far (0 when never recorded, or when the ledger does not exist yet). */
  async handOuts(stream: string, consumer: string, seq: number): Promise<number> {
    try {
      const stored = await this.#jsm.streams.getMessage(LEDGER_STREAM, {
        last_by_subj: HandOutLedger.subject(stream, consumer, seq),
      });
      const count = stored ? Number(stored.string()) : 0;
      return Number.isInteger(count) && count > 0 ? count : 0;
    } catch (error) {
      if (isStreamNotFound(error)) return 0;
      throw error;
    }
  }

  /** Stores the hand-out count; resolves once the server has it. */
  async record(stream: string, consumer: string, seq: number, handOuts: number): Promise<void> {
    await this.#ensure();
    await this.#js.publish(HandOutLedger.subject(stream, consumer, seq), String(handOuts));
  }

  /** Drops the count of a message that was settled for good (best effort: entries expire anyway). */
  forget(stream: string, consumer: string, seq: number): void {
    this.#jsm.streams
      .purge(LEDGER_STREAM, { filter: HandOutLedger.subject(stream, consumer, seq) })
      .catch(() => undefined);
  }

  #ensure(): Promise<void> {
    this.#ready ??= this.#create().catch((error) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async #create(): Promise<void> {
    try {
      await this.#jsm.streams.info(LEDGER_STREAM);
      return;
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
    }
    await this.#jsm.streams
      .add({
        name: LEDGER_STREAM,
        subjects: [`${LEDGER_PREFIX}.>`],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        max_msgs_per_subject: 1,
        max_age: 7 * DAY_NS,
      })
      .catch(async (error) => {
        // created concurrently by another member: fine
        await this.#jsm.streams.info(LEDGER_STREAM).catch(() => {
          throw error;
        });
      });
  }
}
