import type { AnyRedis } from './connection.js';
import { CLAIM_DUE, DROP_IDLE_CONSUMER, OWN_PENDING, PUBLISH, RECLAIM, RELEASE } from './scripts.js';

type Arg = string | number | Buffer;

/** The Lua scripts as client commands (EVALSHA, falling back to EVAL; pipelined like any command). */
export interface Scripted {
  omnibusPublish(...args: Arg[]): Promise<[number, string]>;
  omnibusClaimDueBuffer(...args: Arg[]): Promise<unknown>;
  omnibusReclaimBuffer(...args: Arg[]): Promise<unknown>;
  omnibusRelease(...args: Arg[]): Promise<number>;
  omnibusDropIdleConsumer(...args: Arg[]): Promise<number>;
  omnibusOwnPendingBuffer(...args: Arg[]): Promise<unknown>;
}

/** Defines the scripts on a client (idempotent per client). */
export function withScripts<T extends AnyRedis>(client: T): T & Scripted {
  const c = client as T & Scripted;
  if (typeof c.omnibusPublish === 'function') return c;
  client.defineCommand('omnibusPublish', { numberOfKeys: 3, lua: PUBLISH });
  client.defineCommand('omnibusClaimDue', { numberOfKeys: 1, lua: CLAIM_DUE });
  client.defineCommand('omnibusReclaim', { numberOfKeys: 2, lua: RECLAIM });
  client.defineCommand('omnibusRelease', { numberOfKeys: 2, lua: RELEASE });
  client.defineCommand('omnibusDropIdleConsumer', { numberOfKeys: 1, lua: DROP_IDLE_CONSUMER });
  client.defineCommand('omnibusOwnPending', { numberOfKeys: 2, lua: OWN_PENDING });
  return c;
}
