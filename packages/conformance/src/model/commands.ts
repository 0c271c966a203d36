import fc from 'fast-check';

/**
 * What a handler (or an iterator loop) does with one delivery. `slow` acks after a pause;
 * `hang` holds the message past its ack timeout (a forgotten manual ack, a handler that
 * returns too late).
 */
export type Outcome =
  | { kind: 'ack' }
  | { kind: 'throw' }
  | { kind: 'nak'; delayMs: number }
  | { kind: 'term' }
  | { kind: 'slow'; ms: number }
  | { kind: 'hang' };

/** One step of a random history. Subjects, patterns and groups are indexes into the history's tables. */
export type Command =
  | { t: 'publish'; subject: number; reuseId: boolean }
  | { t: 'publishNew' }
  | {
      t: 'subscribe';
      slot: number;
      pattern: number;
      group: number | undefined;
      form: 'consume' | 'iterate';
      ack: 'auto' | 'manual';
      maxInFlight: number;
      /** Outcomes cycled over this member's deliveries. */
      outcomes: Outcome[];
      /** On the second bus (another process) where the backend shares state between buses. */
      otherBus: boolean;
    }
  | { t: 'close'; slot: number }
  | { t: 'closeOtherBus' }
  | { t: 'wait'; ms: number };

/** A random history: the commands, and the patterns its groups are bound to. */
export interface History {
  commands: Command[];
}

/** Subjects every history publishes to, after its unique prefix (`a.x` → `<prefix>.a.x`). */
export const SUBJECTS = ['a.x', 'a.y', 'b.x', 'é.ü.x'] as const;
/** Patterns subscriptions use, after the prefix. Group `g` always uses `GROUP_PATTERNS[g]`. */
export const PATTERNS = ['>', 'a.*', '*.x', 'a.x', '*.*.x'] as const;
export const GROUP_PATTERNS = [0, 2] as const;
export const SLOTS = 4;

const outcome: fc.Arbitrary<Outcome> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Outcome>({ kind: 'ack' }) },
  { weight: 3, arbitrary: fc.constant<Outcome>({ kind: 'throw' }) },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 0, max: 150 }).map<Outcome>((delayMs) => ({ kind: 'nak', delayMs })),
  },
  { weight: 1, arbitrary: fc.constant<Outcome>({ kind: 'term' }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 120 }).map<Outcome>((ms) => ({ kind: 'slow', ms })) },
  { weight: 1, arbitrary: fc.constant<Outcome>({ kind: 'hang' }) },
);

/** The arbitrary of histories (shrinks towards fewer, simpler commands). */
export function historyArbitrary(maxCommands: number): fc.Arbitrary<History> {
  const command: fc.Arbitrary<Command> = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        t: fc.constant('publish' as const),
        subject: fc.nat(SUBJECTS.length - 1),
        reuseId: fc.nat(5).map((n) => n === 0),
      }),
    },
    { weight: 2, arbitrary: fc.constant<Command>({ t: 'publishNew' }) },
    {
      weight: 4,
      arbitrary: fc
        .record({
          slot: fc.nat(SLOTS - 1),
          pattern: fc.nat(PATTERNS.length - 1),
          group: fc.option(fc.nat(GROUP_PATTERNS.length - 1), { nil: undefined, freq: 2 }),
          form: fc.constantFrom('consume' as const, 'iterate' as const),
          ack: fc.constantFrom('auto' as const, 'manual' as const),
          maxInFlight: fc.integer({ min: 1, max: 4 }),
          outcomes: fc.array(outcome, { minLength: 1, maxLength: 5 }),
          otherBus: fc.boolean(),
        })
        .map<Command>((c) => ({ t: 'subscribe', ...c })),
    },
    { weight: 2, arbitrary: fc.nat(SLOTS - 1).map<Command>((slot) => ({ t: 'close', slot })) },
    { weight: 1, arbitrary: fc.constant<Command>({ t: 'closeOtherBus' }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 300 }).map<Command>((ms) => ({ t: 'wait', ms })) },
  );
  return fc
    .array(command, { minLength: 2, maxLength: maxCommands, size: 'max' })
    .map((commands) => ({ commands }));
}
