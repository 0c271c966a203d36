import { ErrorCodes, errorCode } from './client.js';

/** librdkafka's codes of admin answers worth asking again (a cluster catching up, a coordinator moving). */
const TRANSIENT = new Set(
  [
    'ERR_UNKNOWN_TOPIC_OR_PART',
    'ERR_LEADER_NOT_AVAILABLE',
    'ERR_NOT_LEADER_FOR_PARTITION',
    'ERR_REQUEST_TIMED_OUT',
    'ERR_COORDINATOR_LOAD_IN_PROGRESS',
    'ERR_COORDINATOR_NOT_AVAILABLE',
    'ERR_NOT_COORDINATOR',
    'ERR__TIMED_OUT',
    'ERR__TRANSPORT',
    'ERR__UNKNOWN_TOPIC',
    'ERR__UNKNOWN_PARTITION',
  ].map((name) => ErrorCodes[name]),
);

/** True when `error` (or an error it aggregates) is one worth asking again. */
export function transient(error: unknown): boolean {
  const errors = (error as { errors?: unknown[] })?.errors;
  if (Array.isArray(errors) && errors.length > 0) return errors.every(transient);
  return TRANSIENT.has(errorCode(error)) || (error as { retriable?: boolean })?.retriable === true;
}

/**
 * Retries a call to the cluster (admin, or the consumer's committed offsets) that failed transiently — a topic created a moment ago whose leader the
 * broker asked does not know yet, a group's coordinator still moving right after the group is
 * first named. Bounded: 10 tries, 100 ms more between each.
 */
export async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= 10 || !transient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}
