import type { AnyRedis } from './connection.js';
import {
  CLAIM_DUE,
  CREATE_GROUP,
  DROP_IDLE_CONSUMER,
  OWN_PENDING,
  PRUNE_REGISTRY,
  PUBLISH,
  READ_BOUNDED,
  RECLAIM,
  REFRESH_HELD,
  REGISTER_GROUP,
  RELEASE,
} from './scripts.js';

type Arg = string | number | Buffer;

/** The Lua scripts as client commands (EVALSHA, falling back to EVAL; pipelined like any command). */
export interface Scripted {
  omnibusPublish(...args: Arg[]): Promise<[number, string]>;
  omnibusClaimDueBuffer(...args: Arg[]): Promise<unknown>;
  /** Variable key count: the first argument is 1 + the number of streams. */
  omnibusReclaimBuffer(...args: Arg[]): Promise<unknown>;
  omnibusRelease(...args: Arg[]): Promise<number>;
  omnibusRefreshHeld(...args: Arg[]): Promise<number>;
  omnibusDropIdleConsumer(...args: Arg[]): Promise<number>;
  omnibusOwnPendingBuffer(...args: Arg[]): Promise<unknown>;
  /** Variable key count: the first argument is 2 + the number of streams. */
  omnibusRegisterGroup(...args: Arg[]): Promise<string[]>;
  omnibusPruneRegistry(...args: Arg[]): Promise<number>;
  omnibusCreateGroup(...args: Arg[]): Promise<number>;
  /** Variable key count: the first argument is the number of streams. */
  omnibusReadBoundedBuffer(...args: Arg[]): Promise<unknown>;
}

/** Defines the scripts on a client (idempotent per client). */
export function withScripts<T extends AnyRedis>(client: T): T & Scripted {
  const c = client as T & Scripted;
  if (typeof c.omnibusPublish === 'function') return c;
  client.defineCommand('omnibusPublish', { numberOfKeys: 5, lua: PUBLISH });
  client.defineCommand('omnibusClaimDue', { numberOfKeys: 1, lua: CLAIM_DUE });
  client.defineCommand('omnibusReclaim', { lua: RECLAIM });
  client.defineCommand('omnibusRelease', { numberOfKeys: 2, lua: RELEASE });
  client.defineCommand('omnibusRefreshHeld', { numberOfKeys: 1, lua: REFRESH_HELD });
  client.defineCommand('omnibusDropIdleConsumer', { numberOfKeys: 1, lua: DROP_IDLE_CONSUMER });
  client.defineCommand('omnibusOwnPending', { numberOfKeys: 2, lua: OWN_PENDING });
  client.defineCommand('omnibusRegisterGroup', { lua: REGISTER_GROUP });
  client.defineCommand('omnibusReadBounded', { lua: READ_BOUNDED });
  client.defineCommand('omnibusPruneRegistry', { numberOfKeys: 2, lua: PRUNE_REGISTRY });
  client.defineCommand('omnibusCreateGroup', { numberOfKeys: 4, lua: CREATE_GROUP });
  return c;
}
