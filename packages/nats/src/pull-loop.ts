import type { Consumer, ConsumerInfo, ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { DeliverySink, InboundDelivery } from '@omnibus/core';
import type { CapacityPool } from './capacity-pool.js';
import { DeliveryCounts } from './delivery-counts.js';
import { decodeHeaders } from './envelope.js';
import type { HandOutLedger } from './hand-out-ledger.js';
import { isConsumerGone } from './nats-errors.js';
import { WaitingMessages } from './waiting-messages.js';

/** What a pull loop needs from the driver. */
export interface PullLoopContext {
  readonly js: JetStreamClient;
  readonly stream: string;
  readonly consumer: string;
  readonly sink: DeliverySink;
  readonly heartbeatMs: number;
  /** The consumer's ack wait (ms): messages waiting in the buffer are kept alive at half of it. */
  readonly ackWaitMs: number;
  /** How long one pull request waits on the server. */
  readonly expiresMs: number;
  /**
   * Whether stopping must wait for the pending pull request to expire on the
   * server (group members: otherwise the server may route a released message to
   * a request whose subscriber is gone, delaying it by the ack wait).
   */
  readonly drainOnStop: boolean;
  /**
   * Group members count hand-outs of redelivered messages here, so that copies no
   * handler saw do not count as attempts (JetStream counts every delivery, and the
   * consumer is shared). Undefined for ungrouped subscriptions: their consumer is
   * their own, and the loop's own count is exact.
   */
  readonly ledger: HandOutLedger | undefined;
  /**
   * The subscription's free `maxInFlight`, shared with the other loops feeding the
   * same subscription (a pattern spanning streams): each pull reserves its slots here.
   */
  readonly pool: CapacityPool;
  /**
   * Makes sure the consumer exists again (after it was deleted from outside); gets the
   * last stream sequence seen, resolves with the consumer's info (undefined: its stream is gone).
   */
  recreate(lastSeq: number): Promise<ConsumerInfo | undefined>;
  /** Flushes the connection so a nak reaches the server before we go on. */
  flush(): Promise<void>;
  /** Queues an ack (written with the others of this event-loop turn). */
  ack(message: JsMsg): void;
  /** Writes queued acks now (before a nak: they were settled first). */
  flushAcks(): void;
  status(type: string, detail?: string): void;
}

/**
 * A message handed out later than this after its pull gets its ack wait restarted
 * (`+WPI`); sooner, the grace the consumer's `ack_wait` adds over `ackTimeoutMs` covers it.
 */
const HAND_OUT_WORKING_AFTER_MS = 500;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A consumer's actual ack wait in ms (the server's default, 30 s, when unset). */
export function ackWaitMs(info: ConsumerInfo): number {
  return Math.floor((info.config.ack_wait ?? 30_000 * 1_000_000) / 1_000_000);
}

/**
 * Pulls from one JetStream consumer into one subscription, never asking for more
 * than the subscription's free capacity (that is how `maxInFlight` reaches the
 * server). Survives reconnects, missed heartbeats and a consumer deleted from
 * outside (recreated), reporting each through `status`.
 */
export class PullLoop {
  readonly #ctx: PullLoopContext;
  #stopped = false;
  #current: ConsumerMessages | undefined;
  #done: Promise<void> = Promise.resolve();
  #lastSeq = 0;
  #waiting: WaitingMessages;
  /** Delivery counts seen: a copy whose count goes back is a server duplicate (see DeliveryCounts). */
  readonly #counts: DeliveryCounts;
  /** Ends an idle loop's wait between checks at once (stop). */
  #wake: (() => void) | undefined;

  constructor(ctx: PullLoopContext) {
    this.#ctx = ctx;
    this.#waiting = new WaitingMessages(ctx.ackWaitMs);
    // a group member shares its consumer; an ungrouped subscription's is its own
    this.#counts = new DeliveryCounts(ctx.ledger === undefined);
    ctx.pool.join();
  }

  start(): void {
    this.#done = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#ctx.pool.cancel(this);
    this.#wake?.();
    // Group members let the pending pull request run out (nakking whatever still
    // arrives) so the server forgets it; others stop listening at once. stop(),
    // not close(): close() waits for the iterator to be drained.
    if (!this.#ctx.drainOnStop) this.#current?.stop();
    await this.#done;
    this.#waiting.clear();
  }

  /** The recreated consumer's ack wait: waiting messages are kept alive at half of it from now on. */
  #useAckWait(ms: number): void {
    if (this.#waiting.ackWaitMs === ms) return;
    const previous = this.#waiting;
    this.#waiting = new WaitingMessages(ms);
    for (const m of previous.messages()) this.#waiting.add(m);
    previous.clear();
  }

  /**
   * The attempt a copy arriving with `deliveryCount` (the loop's own count for an
   * ungrouped subscription) is: a first delivery is attempt 1; a group's redelivery
   * is one more than the hand-outs recorded in the ledger (see HandOutLedger).
   */
  async #attemptOf(m: JsMsg, deliveryCount: number): Promise<number> {
    const { ledger, stream, consumer } = this.#ctx;
    if (!ledger || deliveryCount <= 1) return Math.max(1, deliveryCount);
    try {
      return (await ledger.handOuts(stream, consumer, m.seq)) + 1;
    } catch (error) {
      // the ledger does not answer: the server's count, which may count copies no handler saw
      this.#ctx.sink.reportError(error);
      return deliveryCount;
    }
  }

  /** Records that `m` has been handed out `handOuts` times (group members only). */
  async #recordHandOuts(m: JsMsg, handOuts: number): Promise<void> {
    const { ledger, stream, consumer } = this.#ctx;
    try {
      await ledger?.record(stream, consumer, m.seq, handOuts);
    } catch (error) {
      // not recorded: its next hand-out may read a lower attempt (reported, never a loss)
      this.#ctx.sink.reportError(error);
    }
  }

  /** Gives a message back: nakked after the queued acks, flushed before we go on. */
  async #nak(m: JsMsg, delayMs = 0): Promise<void> {
    this.#counts.nakked(m.seq);
    this.#ctx.flushAcks();
    m.nak(delayMs > 0 ? Math.ceil(delayMs) : undefined);
    await this.#ctx.flush();
  }

  /** `received`: when the message arrived, before any await (the server's ack wait runs since about then). */
  #toDelivery(m: JsMsg, attempt: number, received: number): InboundDelivery {
    const { headers, id, publishedAt } = decodeHeaders(m.headers);
    const grouped = this.#ctx.ledger !== undefined;
    const forget = () => {
      if (grouped && attempt > 1) this.#ctx.ledger?.forget(this.#ctx.stream, this.#ctx.consumer, m.seq);
    };
    return {
      id: id ?? `${m.info.stream}:${m.seq}`,
      subject: m.subject,
      payload: new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength),
      headers,
      publishedAt: publishedAt ?? Math.floor(Number(m.info.timestampNanos) / 1e6),
      attempt,
      // the server's ack wait ran from the pull: restart it when the message waited in the
      // subscription's buffer, so it is not redelivered (maybe to another member) before anyone saw it
      onHandOut: () => {
        this.#waiting.delete(m);
        if (Date.now() - received >= HAND_OUT_WORKING_AFTER_MS) m.working();
        // a redelivery's hand-out is counted now: should this member die holding it, the next one knows
        if (grouped && attempt > 1) void this.#recordHandOuts(m, attempt);
      },
      // ack is written to the connection without waiting for the server's
      // confirmation (as the raw client's ack()); a lost ack means a redelivery,
      // never a loss
      ack: () => {
        this.#waiting.delete(m);
        this.#counts.settled(m.seq);
        this.#ctx.ack(m);
        forget();
      },
      nak: async (delayMs, info) => {
        this.#waiting.delete(m);
        // handed out: the next copy is the next attempt, whichever member gets it
        if (grouped && info.handedOut) await this.#recordHandOuts(m, attempt);
        await this.#nak(m, delayMs);
      },
    };
  }

  // One pull at a time: two concurrent pulls would overlap round trips but could
  // interleave messages out of stream order across their iterators.
  async #run(): Promise<void> {
    try {
      await this.#pullUntilStopped();
    } finally {
      this.#ctx.pool.leave(this);
    }
  }

  /**
   * Whether the consumer may have something to deliver: messages not delivered yet,
   * or delivered and not acknowledged (a nak or an expired ack wait brings them back).
   * A failed look-up counts as yes: the pull that follows deals with the failure.
   */
  async #mayHaveWork(consumer: Consumer): Promise<boolean> {
    try {
      const info = await consumer.info();
      return info.num_pending > 0 || info.num_ack_pending > 0;
    } catch {
      return true;
    }
  }

  /** Waits `ms`, or less if the loop stops meanwhile. */
  async #rest(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }

  async #pullUntilStopped(): Promise<void> {
    const { js, stream, sink, pool } = this.#ctx;
    let consumer: Consumer | undefined;
    let failures = 0;
    // Whether the last pull came back empty. With more loops than slots (a pattern spanning
    // more streams than `maxInFlight`), an idle stream's long pull would hold a slot a busy
    // stream needs for up to `expiresMs`, once per round: the busy one would get about one
    // message per round of every loop. So an idle loop asks the consumer whether anything
    // is there (no slot held) and pulls only then, checking again every `expiresMs`.
    let idle = true;
    while (!this.#stopped) {
      if (idle && pool.oversubscribed) {
        try {
          consumer ??= await js.consumers.get(stream, this.#ctx.consumer);
        } catch {
          // the pull below meets the same failure and handles it
        }
        if (consumer && !(await this.#mayHaveWork(consumer))) {
          if (!this.#stopped) await this.#rest(this.#ctx.expiresMs);
          continue;
        }
      }
      // slots reserved for this pull; what does not arrive is given back when it ends
      let unused = await pool.acquire(this);
      if (unused === 0) continue; // cancelled: stopping
      const giveBack = () => {
        pool.release(unused);
        unused = 0;
      };
      if (this.#stopped) {
        giveBack();
        break;
      }
      try {
        consumer ??= await js.consumers.get(stream, this.#ctx.consumer);
        const messages = await consumer.fetch({
          max_messages: unused,
          expires: this.#ctx.expiresMs,
          idle_heartbeat: this.#ctx.heartbeatMs,
        });
        this.#current = messages;
        if (this.#stopped && !this.#ctx.drainOnStop) messages.stop();
        idle = true;
        for await (const m of messages) {
          idle = false;
          const received = Date.now();
          this.#lastSeq = Math.max(this.#lastSeq, m.seq);
          const copy = this.#counts.arrived(m.seq, m.info.deliveryCount);
          if (copy.kind !== 'deliver') {
            // the server's second copy of a message (its delivery count went back): never handed out
            if (copy.kind === 'ack') this.#ctx.ack(m);
            this.#ctx.status('duplicate_copy_dropped', `${this.#ctx.stream} #${m.seq}`);
            continue;
          }
          // Pushed even after stop: core holds what arrives while closing and releases
          // it in order once stop() resolved. A nak now would bounce straight back
          // into this same pull, once per round trip.
          const attempt = await this.#attemptOf(m, copy.deliveryCount);
          if (unused > 0) {
            unused--;
            pool.consume();
          }
          this.#waiting.add(m);
          sink.push(this.#toDelivery(m, attempt, received));
        }
        giveBack();
        if (failures > 0) this.#ctx.status('consumer_resumed', this.#ctx.consumer);
        failures = 0;
      } catch (error) {
        giveBack();
        if (this.#stopped) break;
        failures++;
        sink.reportError(error);
        if (isConsumerGone(error)) {
          this.#ctx.status('consumer_missing', this.#ctx.consumer);
          consumer = undefined;
          const info = await this.#ctx.recreate(this.#lastSeq).catch((e) => void sink.reportError(e));
          if (info) this.#useAckWait(ackWaitMs(info));
        } else {
          this.#ctx.status('pull_failed', (error as Error)?.message);
        }
        await sleep(Math.min(2_000, 50 * 2 ** Math.min(failures, 6)));
      } finally {
        giveBack();
        this.#current = undefined;
      }
    }
  }
}
