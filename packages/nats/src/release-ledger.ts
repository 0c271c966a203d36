import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { isStreamNotFound } from './nats-errors.js';

/** The stream holding release counts (subjects under `_omnibus.released.`, reserved for Omnibus). */
export const LEDGER_STREAM = 'OMNIBUS_RELEASED';
const LEDGER_PREFIX = '_omnibus.released';
const DAY_NS = 24 * 60 * 60 * 1_000_000_000;

/**
 * Remembers how often each message of a group was given back unseen.
 *
 * JetStream counts every delivery, including one to a member that closes before
 * its handler ever saw the message; the contract counts hand-outs only. So a
 * group member that releases an unseen message first records it here (the last
 * message on `_omnibus.released.<stream>.<consumer>.<seq>` is the count), and a
 * redelivered message's attempt is its delivery count minus its releases. Only
 * releases write and only redeliveries read: a first delivery costs nothing.
 * Entries are purged once the message is acked and expire after 7 days otherwise.
 */
export class ReleaseLedger {
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

  /** How many times this message was released unseen (0 when never, or when the ledger does not exist yet). */
  async releases(stream: string, consumer: string, seq: number): Promise<number> {
    try {
      const stored = await this.#jsm.streams.getMessage(LEDGER_STREAM, {
        last_by_subj: ReleaseLedger.subject(stream, consumer, seq),
      });
      const count = stored ? Number(stored.string()) : 0;
      return Number.isInteger(count) && count > 0 ? count : 0;
    } catch (error) {
      if (isStreamNotFound(error)) return 0;
      throw error;
    }
  }

  /** Stores the new release count; resolves once the server has it. */
  async record(stream: string, consumer: string, seq: number, count: number): Promise<void> {
    await this.#ensure();
    await this.#js.publish(ReleaseLedger.subject(stream, consumer, seq), String(count));
  }

  /** Drops the count of a message that was settled for good (best effort: entries expire anyway). */
  forget(stream: string, consumer: string, seq: number): void {
    this.#jsm.streams
      .purge(LEDGER_STREAM, { filter: ReleaseLedger.subject(stream, consumer, seq) })
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
