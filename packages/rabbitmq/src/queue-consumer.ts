import { type DeliverySink, type InboundDelivery, type SettleInfo, withTimeout } from '@omnibus/core';
import type { AsyncMessage, Channel, Connection, Envelope } from 'rabbitmq-client';
import { type DecodedMessage, decodeMessage, redeliveryEnvelope } from './envelope.js';

/** Longest a step of opening a consumer may take before that channel is given up (ms). */
const OPEN_TIMEOUT_MS = 10_000;

/** What one subscription's consumer needs from its driver. */
export interface QueueConsumerContext {
  readonly connection: Connection;
  /** The queue it reads (declared and bound before the consumer starts). */
  readonly queue: string;
  /** False for an ungrouped subscription: its queue goes with it, so nothing is given back on close. */
  readonly grouped: boolean;
  readonly maxInFlight: number;
  readonly sink: DeliverySink;
  /** Declares the queue again after a reconnect (it may have expired or the broker restarted). */
  redeclare(): Promise<void>;
  /** Where a redelivery copy due in `delayMs` goes: the queue itself, or a delay queue that dead-letters into it. */
  redeliveryRoute(delayMs: number): Promise<string>;
  /** Publishes a redelivery copy and resolves on the broker's confirm. */
  publishCopy(envelope: Envelope, body: Uint8Array): Promise<void>;
  status(type: string, detail?: string): void;
}

/**
 * Reads one queue on a channel of its own with `prefetch = maxInFlight`, hands each message to
 * the subscription, and settles it on that channel: ack; a nak becomes a copy with the next
 * attempt (through a delay queue when delayed) followed by an ack of the original, so the
 * attempt survives any member; a message given back unseen is requeued in place (attempt
 * unchanged). A lost channel is opened again (the client reconnects); what it held unsettled
 * comes back from the broker.
 */
export class QueueConsumer {
  readonly #ctx: QueueConsumerContext;
  #channel: Channel | undefined;
  #consumerTag = '';
  #stopped = false;
  /** Deliveries pushed and not settled yet: the channel closes after the last one after stop. */
  #open = 0;
  #whenSettled: (() => void) | undefined;
  /** Messages received while the subscription had no room (should not happen: prefetch is the room). */
  readonly #waiting: { m: AsyncMessage; channel: Channel }[] = [];
  #reopening: Promise<void> | undefined;

  constructor(ctx: QueueConsumerContext) {
    this.#ctx = ctx;
    ctx.sink.onCapacity(() => this.#drain());
  }

  /** Opens the channel and starts consuming. */
  async start(): Promise<void> {
    await this.#open_();
  }

  /**
   * A channel of its own, prefetch and `basic.consume`, each step bounded by `OPEN_TIMEOUT_MS`: a
   * broker still recovering its quorum queues after a restart may never answer a consume on a
   * channel (RabbitMQ 3.10 closes that channel much later, or not at all). A step that does not
   * answer in time gives up that channel and the caller tries again on another.
   */
  async #open_(): Promise<void> {
    const { connection, queue, maxInFlight } = this.#ctx;
    const acquiring = connection.acquire();
    const channel = await withTimeout(acquiring, OPEN_TIMEOUT_MS, 'no channel within 10 s').catch((error) => {
      void acquiring.then((late) => late.close()).catch(() => undefined);
      throw error;
    });
    channel.on('error', (error) => this.#ctx.status('channel_error', (error as Error)?.message));
    try {
      await withTimeout(
        channel.basicQos({ prefetchCount: Math.min(maxInFlight, 65_535) }),
        OPEN_TIMEOUT_MS,
        'basic.qos unanswered for 10 s',
      );
      const { consumerTag } = await withTimeout(
        channel.basicConsume({ queue }, (m) => this.#arrived(m, channel)),
        OPEN_TIMEOUT_MS,
        `basic.consume on ${queue} unanswered for 10 s`,
      );
      if (!channel.active) throw new Error(`the channel consuming ${queue} closed as it started`);
      this.#channel = channel;
      this.#consumerTag = consumerTag;
    } catch (error) {
      void channel.close().catch(() => undefined);
      throw error;
    }
    channel.once('close', () => {
      // what waited for room on it was given back by the broker with the channel
      for (let i = this.#waiting.length - 1; i >= 0; i--)
        if (this.#waiting[i]?.channel === channel) this.#waiting.splice(i, 1);
      if (this.#stopped || this.#channel !== channel) return;
      this.#ctx.status('consumer_channel_closed', queue);
      this.#reopen();
    });
    // the broker cancelled the consumer (its queue was deleted, a node went down): start over
    channel.on('basic.cancel', (tag) => {
      if (tag !== this.#consumerTag || this.#channel !== channel || this.#stopped) return;
      this.#ctx.status('consumer_cancelled', queue);
      void channel.close().catch(() => undefined);
    });
  }

  /** After a lost channel: opens another once the connection is back, until stopped. */
  #reopen(): void {
    if (this.#reopening || this.#stopped) return;
    this.#reopening = (async () => {
      let wait = 100;
      while (!this.#stopped) {
        try {
          await withTimeout(this.#ctx.redeclare(), OPEN_TIMEOUT_MS, 'declaring the queue took over 10 s');
          if (this.#stopped) return;
          await this.#open_();
          this.#ctx.status('consumer_reopened', this.#ctx.queue);
          return;
        } catch (error) {
          this.#ctx.sink.reportError(error);
          await new Promise((resolve) => setTimeout(resolve, wait));
          wait = Math.min(wait * 2, 2_000);
        }
      }
    })().finally(() => {
      this.#reopening = undefined;
    });
  }

  #arrived(m: AsyncMessage, channel: Channel): void {
    // arrived before the cancel took effect: given back unseen on close, after what was pushed
    if (this.#stopped || this.#waiting.length > 0 || this.#ctx.sink.capacity <= 0) {
      this.#waiting.push({ m, channel });
      return;
    }
    this.#push(m, channel);
  }

  #drain(): void {
    while (this.#waiting.length > 0 && this.#ctx.sink.capacity > 0 && !this.#stopped) {
      const next = this.#waiting.shift() as { m: AsyncMessage; channel: Channel };
      this.#push(next.m, next.channel);
    }
  }

  #push(m: AsyncMessage, channel: Channel): void {
    const record = decodeMessage(m);
    const { deliveryTag } = m;
    let settled = false;
    this.#open++;
    const finish = () => {
      if (--this.#open === 0 && this.#whenSettled) this.#whenSettled();
    };
    /** Settles on the channel it came from; a closed channel already gave the message back. */
    const settle = (requeue: boolean | undefined) => {
      if (!channel.active) return;
      if (requeue === undefined) channel.basicAck({ deliveryTag });
      else channel.basicNack({ deliveryTag, requeue });
    };
    const delivery: InboundDelivery = {
      id: record.id,
      subject: record.subject,
      payload: record.payload,
      headers: record.headers,
      publishedAt: record.publishedAt,
      attempt: record.attempt,
      ack: async () => {
        if (settled) return;
        settled = true;
        settle(undefined);
        finish();
      },
      nak: async (delayMs: number, info: SettleInfo) => {
        if (settled) return;
        settled = true;
        try {
          if (info.reason === 'release' && (!info.handedOut || !this.#ctx.grouped)) {
            // unseen: back in place at the same attempt (an ungrouped queue goes with its subscription)
            settle(true);
            return;
          }
          if (!channel.active) return; // the broker gives it back itself (same attempt: as after a crash)
          if (await this.#copied(record, delayMs)) settle(undefined);
          else {
            // no copy at all: the original stays held for the delay, then goes back in place
            // (same attempt); never requeued at once, which would spin without backoff
            await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(delayMs, 1_000), 30_000)));
            settle(true);
          }
        } finally {
          finish();
        }
      },
    };
    this.#ctx.sink.push(delivery);
  }

  /**
   * Stores the next attempt's copy: through the delay queue for `delayMs`, or, when that fails
   * (a delay queue the user may not declare, one left with other arguments), straight into the
   * queue without the delay. False when neither could be stored.
   */
  async #copied(record: DecodedMessage, delayMs: number): Promise<boolean> {
    const next = record.attempt + 1;
    try {
      const route = await this.#ctx.redeliveryRoute(delayMs);
      await this.#ctx.publishCopy(redeliveryEnvelope(record, route, next), record.payload);
      return true;
    } catch (error) {
      this.#ctx.sink.reportError(error);
      this.#ctx.status('retry_copy_failed', `${record.subject}: ${(error as Error)?.message ?? error}`);
    }
    if (delayMs <= 0) return false;
    try {
      await this.#ctx.publishCopy(redeliveryEnvelope(record, this.#ctx.queue, next), record.payload);
      this.#ctx.status(
        'retry_copy_undelayed',
        `${record.subject}: redelivered without its ${delayMs} ms delay`,
      );
      return true;
    } catch (error) {
      this.#ctx.sink.reportError(error);
      return false;
    }
  }

  /** Stops intake: cancels the consumer; resolves when no further push will happen. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#reopening?.catch(() => undefined);
    const channel = this.#channel;
    if (channel?.active && this.#consumerTag) {
      await channel.basicCancel({ consumerTag: this.#consumerTag }).catch(() => undefined);
    }
  }

  /**
   * After stop: waits (at most `timeoutMs`) until what was pushed is settled, gives back in
   * order what never got room (so a queue keeps its order for the next member), then closes
   * the channel.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.#open > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#whenSettled = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const { m, channel } of this.#waiting.splice(0))
      if (channel.active) channel.basicNack({ deliveryTag: m.deliveryTag, requeue: true });
    await this.#channel?.close().catch(() => undefined);
  }
}
