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

export const knownFailures: readonly KnownFailure[] = [];

/** The known failure of this row, if it is one. */
export function knownFailure(backend: string, scenario: string): KnownFailure | undefined {
  return knownFailures.find((k) => k.backend === backend && scenario.startsWith(k.scenario));
}
