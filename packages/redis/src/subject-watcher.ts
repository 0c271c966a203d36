import type { AnyRedis } from './connection.js';
import type { Keys } from './keys.js';

/** Told about subjects that may be new; ignores the ones it knows. */
export type SubjectListener = (subject: string) => void;

/**
 * Tells wildcard subscriptions about subjects first published after they started.
 * The publish script adds every subject to a registry set and announces the first
 * publish on a channel: listeners hear it at once. A missed announcement (during
 * a reconnect) is caught by a check every `intervalMs`: the registry's size
 * (`SCARD`, one cheap call), and its members only when the size changed — the
 * keyspace is never scanned.
 */
export class SubjectWatcher {
  readonly #client: AnyRedis;
  readonly #subscriber: AnyRedis;
  readonly #keys: Keys;
  readonly #intervalMs: number;
  readonly #listeners = new Set<SubjectListener>();
  readonly #onError: (error: unknown) => void;
  #started: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #size = -1;

  constructor(
    client: AnyRedis,
    subscriber: AnyRedis,
    keys: Keys,
    intervalMs: number,
    onError: (error: unknown) => void,
  ) {
    this.#client = client;
    this.#subscriber = subscriber;
    this.#keys = keys;
    this.#intervalMs = intervalMs;
    this.#onError = onError;
  }

  /** Starts listening (once); resolves when announcements are being received. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      this.#subscriber.on('message', (channel: string, subject: string) => {
        if (channel === this.#keys.newSubjects) this.#emit(subject);
      });
      await this.#subscriber.subscribe(this.#keys.newSubjects);
      this.#timer = setInterval(() => void this.#check().catch(this.#onError), this.#intervalMs);
      this.#timer.unref?.();
    })();
    return this.#started;
  }

  /** Registers a listener; returns its removal. */
  listen(listener: SubjectListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every registered subject (the snapshot a new wildcard subscription starts from). */
  async subjects(): Promise<string[]> {
    return (await this.#client.smembers(this.#keys.registry)) as string[];
  }

  async #check(): Promise<void> {
    if (this.#listeners.size === 0) return;
    const size = Number(await this.#client.scard(this.#keys.registry));
    if (size === this.#size) return;
    this.#size = size;
    for (const subject of await this.subjects()) this.#emit(subject);
  }

  #emit(subject: string): void {
    for (const listener of this.#listeners) listener(subject);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#subscriber.disconnect();
  }
}
