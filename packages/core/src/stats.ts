import type { BusStats } from './types.js';

/** Mutable counters behind `EventBus.stats()`; adapters built with `createBus` share one per bus. */
export type StatsCounter = BusStats;

/** A zeroed counter set. */
export function createStats(): StatsCounter {
  return {
    published: 0,
    duplicates: 0,
    delivered: 0,
    redelivered: 0,
    acked: 0,
    nakked: 0,
    deadLettered: 0,
    inFlight: 0,
    dropped: 0,
    errors: 0,
  };
}
