import type { RetentionPolicy, StorageType, StreamConfig } from '@nats-io/jetstream';
import { ConfigError } from '@omnibus/core';
import type { StreamSettings } from './options.js';

/** A stream Omnibus routes to. */
export interface StreamTarget {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly settings: StreamSettings;
  /** The settings the user set explicitly (only these are verified on existing streams). */
  readonly explicit: StreamSettings;
  /** `configured` in `streams`, or `automatic` (`<streamPrefix>_<token>`). */
  readonly role: Exclude<StreamRole, 'adopted'>;
}

const MS = 1_000_000; // nanoseconds per millisecond

/** Whether any stream setting is set (an `undefined` value counts as not set). */
export function hasSettings(settings: StreamSettings): boolean {
  return Object.values(settings).some((value) => value !== undefined);
}

/** The JetStream configuration Omnibus creates for `target`. */
export function toConfig(target: StreamTarget): Partial<StreamConfig> & { name: string } {
  const s = target.settings;
  return {
    name: target.name,
    subjects: [...target.subjects],
    retention: (s.retention ?? 'limits') as RetentionPolicy,
    storage: (s.storage ?? 'file') as StorageType,
    max_age: (s.maxAgeMs ?? 0) * MS,
    max_bytes: s.maxBytes ?? -1,
    num_replicas: s.replicas ?? 1,
    // the server refuses a dedupe window longer than max_age
    duplicate_window: (s.duplicateWindowMs ?? (s.maxAgeMs ? Math.min(120_000, s.maxAgeMs) : 120_000)) * MS,
  };
}

/**
 * How the existing stream differs from what `target` needs: a subject it lacks, or a
 * setting the user set explicitly with another value (settings left out are not compared).
 */
export function differences(existing: StreamConfig, target: StreamTarget): string[] {
  const out: string[] = [];
  for (const subject of target.subjects) {
    if (!existing.subjects?.includes(subject))
      out.push(`subjects lacks "${subject}" (has ${JSON.stringify(existing.subjects)})`);
  }
  const e = target.explicit;
  const want = toConfig(target);
  if (e.retention !== undefined && existing.retention !== want.retention)
    out.push(`retention is ${existing.retention}, config says ${want.retention}`);
  if (e.storage !== undefined && existing.storage !== want.storage)
    out.push(`storage is ${existing.storage}, config says ${want.storage}`);
  if (e.maxAgeMs !== undefined && existing.max_age !== want.max_age)
    out.push(`max_age is ${existing.max_age / MS} ms, config says ${e.maxAgeMs} ms`);
  if (e.maxBytes !== undefined && existing.max_bytes !== want.max_bytes)
    out.push(`max_bytes is ${existing.max_bytes}, config says ${e.maxBytes}`);
  if (e.replicas !== undefined && existing.num_replicas !== want.num_replicas)
    out.push(`replicas is ${existing.num_replicas}, config says ${e.replicas}`);
  if (e.duplicateWindowMs !== undefined && existing.duplicate_window !== want.duplicate_window) {
    out.push(
      `duplicate_window is ${existing.duplicate_window / MS} ms, config says ${e.duplicateWindowMs} ms`,
    );
  }
  return out;
}

/** How a bus came to the stream: `configured` in `streams`, `automatic` (`<streamPrefix>_<token>`), or `adopted` (another stream that already held the subjects). */
export type StreamRole = 'configured' | 'automatic' | 'adopted';

/**
 * The error for an existing stream `name` whose settings differ from the configuration
 * (`diff`, from `differences`). Omnibus never changes a stream, and NATS lets one stream
 * only hold a subject (so no other stream name or `streamPrefix` gets around it): the
 * hint names the ways out — drop the setting, or delete or edit the stream.
 * `others` are further conflicting streams (found by the check at `createNatsBus`).
 */
export function conflictError(
  name: string,
  role: StreamRole,
  diff: readonly string[],
  others: readonly string[] = [],
): ConfigError {
  const held = role === 'adopted' ? ' (it already held these subjects, so this bus adopted it)' : '';
  const also = others.length > 0 ? ` Other streams conflict too: ${others.join(', ')}.` : '';
  return new ConfigError(
    role === 'configured' ? 'streams' : 'streamDefaults',
    `stream ${name}${held} exists with other settings: ${diff.join('; ')}. Omnibus never changes an existing stream.${also}`,
    {
      backend: 'nats',
      hint: `drop the setting that differs to use the stream as it is, or delete the stream with \`nats stream rm ${name}\` (its messages are lost) to have it created with these settings, or change it with \`nats stream edit ${name}\`; another stream name or streamPrefix does not help while ${name} holds these subjects (NATS lets only one stream hold a subject)`,
    },
  );
}
