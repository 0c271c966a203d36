import type { JetStreamManager, StreamInfo } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { isStreamNotFound } from './nats-errors.js';

/** Subject of the advisory the server publishes whenever a stream is created. */
export const STREAM_CREATED_ADVISORY = '$JS.EVENT.ADVISORY.STREAM.CREATED.>';

/** What a watcher tells its listeners. */
export interface StreamListener {
  /** A stream exists (seen in a listing or announced by an advisory); called again for known ones. */
  seen(info: StreamInfo): void;
  /** A full listing ended: these are all the streams that exist now. */
  listed?(names: ReadonlySet<string>): void;
  /** Listing or looking up failed (the watcher keeps going). */
  error(error: unknown): void;
}

/**
 * Tells subscriptions spanning streams (`*.created`, `>`) which streams exist, and
 * about new ones quickly: it listens to the server's stream-created advisories
 * (a stream created by any process is looked up at once) and, as a backstop for
 * advisories missed during a reconnect, lists every stream each `intervalMs`.
 * One watcher per bus, shared by its subscriptions; it runs only while at least
 * one of them is open.
 */
export class StreamWatcher {
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #intervalMs: number;
  readonly #listeners = new Set<StreamListener>();
  #advisories: Subscription | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #listing: Promise<void> | undefined;
  #again = false;

  constructor(nc: NatsConnection, jsm: JetStreamManager, intervalMs: number) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#intervalMs = intervalMs;
  }

  /**
   * Registers a listener and resolves with a listing made after the advisory
   * subscription is in place on the server: a stream missing from it was created
   * afterwards and is announced to the listener.
   */
  async watch(listener: StreamListener): Promise<StreamInfo[]> {
    this.#listeners.add(listener);
    try {
      if (!this.#advisories) {
        this.#advisories = this.#nc.subscribe(STREAM_CREATED_ADVISORY, {
          callback: (error, msg) => {
            if (error) return;
            try {
              const { stream } = msg.json<{ stream?: string }>();
              if (typeof stream === 'string') void this.#lookUp(stream);
            } catch {
              this.refresh();
            }
          },
        });
        this.#schedule();
      }
      await this.#nc.flush(); // the server has the advisory subscription
      return await this.#list();
    } catch (error) {
      this.unwatch(listener);
      throw error;
    }
  }

  /** Removes a listener; the last one stops the watcher. */
  unwatch(listener: StreamListener): void {
    this.#listeners.delete(listener);
    if (this.#listeners.size > 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#advisories?.unsubscribe();
    this.#advisories = undefined;
  }

  /** Lists all streams now (coalesced with a listing already under way) and tells the listeners. */
  refresh(): void {
    if (this.#listing) {
      this.#again = true;
      return;
    }
    this.#listing = this.#list()
      .then(
        () => undefined,
        (error) => this.#fail(error),
      )
      .finally(() => {
        this.#listing = undefined;
        if (this.#again && this.#listeners.size > 0) {
          this.#again = false;
          this.refresh();
        }
      });
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      if (this.#listeners.size === 0) return;
      this.refresh();
      this.#schedule();
    }, this.#intervalMs);
    this.#timer.unref?.();
  }

  async #list(): Promise<StreamInfo[]> {
    const all: StreamInfo[] = [];
    for await (const info of this.#jsm.streams.list()) all.push(info);
    for (const info of all) this.#each((l) => l.seen(info));
    const names = new Set(all.map((i) => i.config.name));
    this.#each((l) => l.listed?.(names));
    return all;
  }

  async #lookUp(name: string): Promise<void> {
    if (this.#listeners.size === 0) return;
    try {
      const info = await this.#jsm.streams.info(name);
      this.#each((l) => l.seen(info));
    } catch (error) {
      if (!isStreamNotFound(error)) this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    if (this.#nc.isClosed()) return;
    this.#each((l) => l.error(error));
  }

  #each(call: (listener: StreamListener) => void): void {
    for (const listener of [...this.#listeners]) {
      try {
        call(listener);
      } catch {
        // a listener's own failure is its business
      }
    }
  }
}
