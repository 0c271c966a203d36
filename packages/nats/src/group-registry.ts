import type { JetStreamClient, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { DiscardPolicy, RetentionPolicy, type StorageType } from '@nats-io/jetstream';
import { ConfigError, safeCause } from '@omnibus/core';
import { isStreamNotFound, isWrongLastSequence } from './nats-errors.js';
import type { ResolvedNatsOptions } from './options.js';
import { hash } from './streams.js';

/** Subjects of group registrations (under `_`, reserved for Omnibus: no user subject can land here). */
const REGISTRY_PREFIX = '_omnibus.groups';

/**
 * The registry's stream for `streamPrefix`: `<streamPrefix>__GROUPS`. Never an automatic stream's
 * name (`<streamPrefix>_<token>`): a subject's first token cannot start with `_`.
 */
export function groupRegistryStream(streamPrefix: string): string {
  return `${streamPrefix}__GROUPS`;
}

/** A group's registration, as a subscribe found or made it. */
export interface Registration {
  /** When the group was first subscribed (the server's timestamp of its entry, RFC 3339). */
  readonly since: string;
  /** This subscribe wrote it: the group did not exist before. */
  readonly fresh: boolean;
}

/**
 * Records when each group was first subscribed (per pattern), so a group exists
 * between its members. JetStream's own record of a group is its durables, one per
 * stream; a group first subscribed while no stream could hold a matching subject
 * has none, and a stream created later would give it a durable starting at `new`,
 * losing what was published meanwhile. Instead, a member that creates a group's
 * durable where it has none starts it at the registration.
 *
 * One entry per group and pattern, on `_omnibus.groups.<streamPrefix>.<group>.<hash(pattern)>`
 * in the stream `<streamPrefix>__GROUPS` (one message per subject, kept until deleted).
 * The entry is written with `Nats-Expected-Last-Subject-Sequence: 0`, so of members
 * registering at once exactly one writes it and the others read it — independent of
 * any dedupe window. Read and written only on subscribe: nothing per message.
 */
export class GroupRegistry {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #options: ResolvedNatsOptions;
  readonly #onCreated: (stream: string) => void;
  readonly #onMissing: (detail: string) => void;
  #ready: Promise<boolean> | undefined;
  /** The stream this registry is kept in. */
  readonly stream: string;

  constructor(
    js: JetStreamClient,
    jsm: JetStreamManager,
    options: ResolvedNatsOptions,
    onCreated: (stream: string) => void,
    onMissing: (detail: string) => void,
  ) {
    this.#js = js;
    this.#jsm = jsm;
    this.#options = options;
    this.#onCreated = onCreated;
    this.#onMissing = onMissing;
    this.stream = groupRegistryStream(options.streamPrefix);
  }

  /** The subjects of `group`'s registrations (every pattern): purge them to delete the group. */
  groupSubjects(group: string): string {
    return `${REGISTRY_PREFIX}.${this.#options.streamPrefix}.${group}.>`;
  }

  #subject(group: string, pattern: string): string {
    return `${REGISTRY_PREFIX}.${this.#options.streamPrefix}.${group}.${hash(pattern)}`;
  }

  /**
   * The registration of `group` with `pattern`, written now if there is none.
   * Undefined when the registry stream does not exist and `provision` is `'verify'`.
   */
  async register(group: string, pattern: string): Promise<Registration | undefined> {
    if (!(await this.#ensure())) return undefined;
    const subject = this.#subject(group, pattern);
    const found = await this.#read(subject);
    if (found) return { since: found, fresh: false };
    try {
      const ack = await this.#js.publish(
        subject,
        JSON.stringify({ group, pattern, registeredBy: 'omnibus' }),
        { expect: { lastSubjectSequence: 0, streamName: this.stream } },
      );
      const stored = await this.#jsm.streams.getMessage(this.stream, { seq: ack.seq });
      if (!stored) throw new Error(`group registration ${subject} vanished right after it was written`);
      return { since: stored.timestamp, fresh: true };
    } catch (error) {
      // another member registered it first: theirs counts
      if (!isWrongLastSequence(error)) throw error;
      const since = await this.#read(subject);
      if (since === undefined) throw error;
      return { since, fresh: false };
    }
  }

  /** The timestamp of the subject's entry; undefined when there is none. */
  async #read(subject: string): Promise<string | undefined> {
    const stored = await this.#jsm.streams.getMessage(this.stream, { last_by_subj: subject });
    return stored ? stored.timestamp : undefined;
  }

  /** Whether the registry stream exists (created here unless `provision` is `'verify'`). */
  #ensure(): Promise<boolean> {
    this.#ready ??= this.#create().then(
      (ok) => {
        if (!ok) this.#ready = undefined; // an operator may create it later
        return ok;
      },
      (error) => {
        this.#ready = undefined;
        throw error;
      },
    );
    return this.#ready;
  }

  #config(): Partial<StreamConfig> & { name: string } {
    const d = this.#options.streamDefaults;
    return {
      name: this.stream,
      subjects: [`${REGISTRY_PREFIX}.${this.#options.streamPrefix}.>`],
      retention: RetentionPolicy.Limits,
      storage: (d.storage ?? 'file') as StorageType,
      num_replicas: d.replicas ?? 1,
      max_msgs_per_subject: 1,
      discard: DiscardPolicy.Old,
    };
  }

  async #verify(): Promise<boolean> {
    const info = await this.#jsm.streams.info(this.stream);
    const subject = this.#config().subjects?.[0] as string;
    if (!info.config.subjects?.includes(subject)) {
      throw new ConfigError(
        'streams',
        `the group registry stream ${this.stream} exists without the subject "${subject}" (has ${JSON.stringify(info.config.subjects)})`,
        { backend: 'nats' },
      );
    }
    return true;
  }

  async #create(): Promise<boolean> {
    try {
      return await this.#verify();
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
    }
    if (this.#options.provision === 'verify') {
      this.#onMissing(
        `group registry stream ${this.stream} does not exist and provision is 'verify': a group's first subscribe is not recorded`,
      );
      return false;
    }
    try {
      await this.#jsm.streams.add(this.#config());
      this.#onCreated(this.stream);
      return true;
    } catch (error) {
      // created concurrently by another member: fine if it is right
      return this.#verify().catch(() => {
        throw new ConfigError(
          'streams',
          `the server refused to create the group registry stream ${this.stream}: ${(error as Error)?.message ?? error}`,
          { backend: 'nats', cause: safeCause(error) },
        );
      });
    }
  }
}
