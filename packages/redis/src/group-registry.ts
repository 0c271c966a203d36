import { subjectMatches } from '@omnibus/core';

/**
 * The group registry: one hash per named group (`{p}:group:<name>`), pattern →
 * registration, written by the first subscribe of each pattern (see
 * REGISTER_GROUP). It is what makes a group exist between its members: a member
 * that finds a matching stream without the group's consumer group creates it
 * from the stream's first entry when the subject was born (first published)
 * after the group was registered, whether or not a member ran then, and however
 * late a member notices it.
 */
export interface Registration {
  /** The subject-birth counter when the pattern was registered. */
  readonly births: bigint;
  /**
   * Where the group starts on subjects born before the registration: `0`,
   * `<ms>-0`, or for `from: 'new'` the registration's millisecond as a position
   * (`<ms - 1>-<max seq>`). `$` only in registrations written by earlier versions.
   */
  readonly start: string;
}

export type Registrations = ReadonlyMap<string, Registration>;

function toBigInt(value: unknown): bigint | undefined {
  if (value === null || value === undefined) return undefined;
  const text = String(value);
  return /^\d+$/.test(text) ? BigInt(text) : undefined;
}

/** Reads the script's flat `[pattern, "<births>|<start>", …]` reply. */
export function parseRegistrations(flat: readonly unknown[]): Registrations {
  const out = new Map<string, Registration>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const value = String(flat[i + 1]);
    const bar = value.indexOf('|');
    out.set(String(flat[i]), {
      births: toBigInt(value.slice(0, bar)) ?? 0n,
      start: value.slice(bar + 1) || '$',
    });
  }
  return out;
}

function parseId(id: string): [bigint, bigint] {
  const [ms = '0', seq = '0'] = id.split('-');
  return [BigInt(ms), BigInt(seq)];
}

/** Orders start positions: stream ids (`ms-seq` or `ms`), `$` (the end) after every id. */
export function comparePositions(a: string, b: string): number {
  if (a === '$' || b === '$') return a === b ? 0 : a === '$' ? 1 : -1;
  const [am, as] = parseId(a);
  const [bm, bs] = parseId(b);
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}

/**
 * Where a named group starts on `subject`, given the subject's birth number
 * (undefined: registered before births were counted, or never published): `0`
 * when the subject was born after a matching pattern was registered (everything
 * in it came after the group existed), else that pattern's start; the earliest
 * over the group's matching patterns; `fallback` when none matches.
 */
export function startFor(
  subject: string,
  birth: unknown,
  registrations: Registrations,
  fallback: string,
): string {
  const born = toBigInt(birth);
  let best: string | undefined;
  for (const [pattern, registration] of registrations) {
    if (!subjectMatches(pattern, subject)) continue;
    const start = born !== undefined && born > registration.births ? '0' : registration.start;
    if (best === undefined || comparePositions(start, best) < 0) best = start;
  }
  return best ?? fallback;
}
