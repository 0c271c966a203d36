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
  {
    backend: 'nats',
    scenario: 'cluster node lost under load',
    intermittent: true,
    why: 'seen in 1 clean-clone CI run (2026-12-06; it passed in the runs before and after): with the R3 stream’s leader SIGKILLed, 10 messages (one per publisher, handed out as the node died) reached the consumer late, behind newer ones of the same subjects: out of order, nothing lost; the consumer caught up 23.8 s after the last publish, about when the 30 s ack timeout of those hand-outs ran out. The same mechanism as the paused-node row above, as far as understood (not confirmed)',
  },
  {
    backend: 'kafka',
    scenario: 'broker restart under load',
    intermittent: true,
    why: 'seen in 1 clean-clone CI run (2026-12-06) of the 4 full runs and 2 stand-alone runs that day: after the first of the two SIGKILLs the grouped consumer received nothing more for the 90 s the row waits (9,799 acknowledged, 6,459 not delivered: every publisher from its 173rd message on), while publishing recovered in 16 s. Not yet known whether the consumer never resumed (its group member stuck after the restart) or the messages are gone; the row now prints, when it fails, the group as the management API sees it (members, lag) and the consumer bus’s status events, which will tell. Tracked with the Kafka client decision (issue on Kafka speed and client)',
  },
];

/** The known failure of this row, if it is one. */
export function knownFailure(backend: string, scenario: string): KnownFailure | undefined {
  return knownFailures.find((k) => k.backend === backend && scenario.startsWith(k.scenario));
}
