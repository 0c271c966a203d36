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
  /** Fails in some runs only: a run it passes is no sign of a fix. */
  readonly intermittent?: boolean;
}

export const knownFailures: readonly KnownFailure[] = [
  {
    backend: 'nats',
    scenario: 'cluster node paused under load',
    intermittent: true,
    why: 'seen in 1 of 13 runs so far (this scenario six times, a stand-alone reproduction of it seven times), with the R3 stream’s leader frozen for 20 s, 9 acknowledged messages reached the consumer late, behind newer ones of the same subjects: out of order, nothing lost. The consumer caught up 24 s after the last publish, about when the 30 s ack timeout of messages handed out as the node froze ran out. As far as understood (not confirmed), the frozen node had sent them towards the consumer and the newly elected consumer leader counted them as delivered, so they came again only after the ack timeout. A failing run names them, with their attempt, in its notes',
  },
];

/** The known failure of this row, if it is one. */
export function knownFailure(backend: string, scenario: string): KnownFailure | undefined {
  return knownFailures.find((k) => k.backend === backend && scenario.startsWith(k.scenario));
}
