import type { AnyRedis } from './connection.js';
import type { Keys } from './keys.js';
import type { Scripted } from './scripted.js';

/** Every this many checks (a minute at the default 2 s interval), the registry is pruned. */
const PRUNE_EVERY_CHECKS = 30;

/** Told about subjects that may be new; ignores the ones it knows. */
export type SubjectListener = (subject: string) => void;

/** Told when a registry check fails (the subscription survives; the check is retried). */
export type SubjectErrorListener = (error: unknown) => void;

/**
 * Tells wildcard subscriptions about subjects first published after they started.
 * The publish script adds every subject to a registry set and announces the first
 * publish on a channel: listeners hear it at once. A missed announcement (during
 * a reconnect) is caught by a check every `intervalMs`: the registry's size
 * (`SCARD`, one cheap call), and its members only when the size changed — the
 * keyspace is never scanned. A failed check is reported to every listener each
 * time, and to `onError` once per streak of failures; it is retried at the next
 * interval, and the next check that succeeds calls `onRecovered`. Every
 * `PRUNE_EVERY_CHECKS` checks it also removes the subjects whose stream no longer
 * exists (one atomic script; see PRUNE_REGISTRY).
 */
export class SubjectWatcher {
  readonly #client: AnyRedis & Scripted;
  readonly #subscriber: AnyRedis;
  readonly #keys: Keys;
  readonly #intervalMs: number;
  readonly #listeners = new Map<SubjectListener, SubjectErrorListener | undefined>();
  readonly #onError: (error: unknown) => void;
  readonly #onRecovered: () => void;
  #failing = false;
  #checking = false;
  #checks = 0;
  #started: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #size = -1;

  constructor(
    client: AnyRedis & Scripted,
    subscriber: AnyRedis,
    keys: Keys,
    intervalMs: number,
    onError: (error: unknown) => void,
    onRecovered: () => void = () => undefined,
  ) {
    this.#client = client;
    this.#subscriber = subscriber;
    this.#keys = keys;
    this.#intervalMs = intervalMs;
    this.#onError = onError;
    this.#onRecovered = onRecovered;
  }

  /** Starts listening (once); resolves when announcements are being received. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      this.#subscriber.on('message', (channel: string, subject: string) => {
        if (channel === this.#keys.newSubjects) this.#emit(subject);
      });
      await this.#subscriber.subscribe(this.#keys.newSubjects);
      this.#timer = setInterval(() => void this.#checkReporting(), this.#intervalMs);
      this.#timer.unref?.();
    })();
    return this.#started;
  }

  /** Registers a listener (and what to tell it when a check fails); returns its removal. */
  listen(listener: SubjectListener, onError?: SubjectErrorListener): () => void {
    this.#listeners.set(listener, onError);
    return () => this.#listeners.delete(listener);
  }

  /** Every registered subject (the snapshot a new wildcard subscription starts from). */
  async subjects(): Promise<string[]> {
    return (await this.#client.smembers(this.#keys.registry)) as string[];
  }

  async #checkReporting(): Promise<void> {
    if (this.#checking) return; // the previous check still waits (for a reconnect): no pile-up
    this.#checking = true;
    try {
      await this.#check();
      if (this.#failing) {
        this.#failing = false;
        this.#onRecovered();
      }
    } catch (error) {
      this.#size = -1; // look at the members again once the registry answers
      for (const onError of this.#listeners.values()) {
        try {
          onError?.(error);
        } catch {
          // a listener must not stop the others
        }
      }
      if (!this.#failing && this.#listeners.size > 0) this.#onError(error); // once per failing streak
      this.#failing = true;
    } finally {
      this.#checking = false;
    }
  }

  async #check(): Promise<void> {
    if (this.#listeners.size === 0) return;
    if (++this.#checks % PRUNE_EVERY_CHECKS === 0) {
      await this.#client.omnibusPruneRegistry(this.#keys.registry, this.#keys.births, this.#keys.stream(''));
    }
    const size = Number(await this.#client.scard(this.#keys.registry));
    if (size === this.#size) return;
    this.#size = size;
    for (const subject of await this.subjects()) this.#emit(subject);
  }

  #emit(subject: string): void {
    for (const listener of this.#listeners.keys()) listener(subject);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#subscriber.disconnect();
  }
}
