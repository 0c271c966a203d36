/**
 * Failures this suite found that are not fixed yet. They still run every time,
 * are still shown as failed in the tables and listed in docs/reliability.md with
 * the reason; they alone do not fail `pnpm test:faults` (any other failed row or
 * case does), so a regression elsewhere is never hidden behind them. Remove an
 * entry with its fix: the run says when a known failure passes.
 */
export interface KnownFailure {
  readonly backend: string;
  readonly scenario: string;
  /** What fails and why, as far as it is understood. */
  readonly why: string;
}

export const knownFailures: readonly KnownFailure[] = [
  {
    backend: 'kafka',
    scenario: 'network pause',
    why: "with the broker SIGSTOPped longer than kafkajs's 30 s request timeout, a bus that only consumes reports nothing through onStatus: its client logs errors that do not say the connection is gone, and its group rejoins without a loss having been recorded (the publishing bus reports 'lost' at +30 s and 'restored' when the broker answers; nothing is lost since the producer is renewed after a failed send)",
  },
];

/** The known failure of this row, if it is one. */
export function knownFailure(backend: string, scenario: string): KnownFailure | undefined {
  return knownFailures.find((k) => k.backend === backend && scenario.startsWith(k.scenario));
}
