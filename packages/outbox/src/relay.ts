import {
  type BusHealth,
  type EventBus,
  type Headers,
  InvalidArgumentError,
  type Logger,
  log,
} from '@omnibus/core';
import type { OutboxDatabase } from './database.js';
import { describe, explainDatabaseError } from './errors.js';
import { DEFAULT_SCHEMA, schemaNames } from './schema.js';
import { type Row, runQuery, type Transaction } from './sql-client.js';
import { Wakeup } from './wakeup.js';

/** What the relay does with a row once the bus acknowledged it. */
export type Retention = 'delete' | { readonly keepPublishedForMs: number };

/** Options of `startRelay`. */
export interface RelayOptions {
  /** Where the outbox table lives (`pgDatabase(pool)`, `postgresDatabase(sql)`). */
  database: OutboxDatabase;
  /** Where committed messages go: any Omnibus bus. The relay neither opens nor closes it. */
  bus: EventBus;
  /** Schema of the outbox tables. Default `omnibus`. */
  schema?: string;
  /** Rows forwarded per transaction (one `publishBatch`). Default 100. */
  batchSize?: number;
  /** Longest wait between passes when no NOTIFY arrives (ms). Default 1,000. */
  pollIntervalMs?: number;
  /**
   * Forwarded rows are marked (`published_at`) and deleted after `keepPublishedForMs` (default 24 h),
   * or deleted at once with `'delete'`.
   */
  retention?: Retention;
  /** How often marked rows past their retention are deleted (ms). Default 60,000. */
  cleanupIntervalMs?: number;
  /** Longest wait after a failed pass (ms); waits double from 100 ms up to it. Default 5,000. */
  maxRetryDelayMs?: number;
  /** Default `console`; errors and recoveries at warn level. */
  logger?: Logger;
  /** Status events: `relay-error`, `relay-recovered`, `relay-active`, `relay-standby`. */
  onStatus?: (status: RelayStatus) => void;
}

/** A status event of the relay (never contains credentials). */
export interface RelayStatus {
  readonly type: 'relay-error' | 'relay-recovered' | 'relay-active' | 'relay-standby';
  readonly detail?: string;
}

/** Counters of one relay since it started. */
export interface RelayStats {
  /** Rows published and marked (or deleted). */
  readonly forwarded: number;
  /** Transactions that forwarded at least one row. */
  readonly batches: number;
  /** Failed passes (database or bus errors; each rolled back and tried again). */
  readonly errors: number;
  /** True while another relay holds the schema's lock and this one waits. */
  readonly standby: boolean;
  /** When the last row was forwarded (epoch ms), if any. */
  readonly lastForwardAt?: number;
}

/** Rows not yet forwarded. */
export interface OutboxLag {
  /** Committed rows waiting (rows of open transactions are not visible, hence not counted). */
  readonly rows: number;
  /** Age of the oldest waiting row (ms); 0 when none. */
  readonly oldestAgeMs: number;
}

/** A running relay. */
export interface Relay {
  stats(): RelayStats;
  /** Counts the rows still to forward (one query). */
  lag(): Promise<OutboxLag>;
  /** Health in the buses' shape (`backend: 'outbox'`): ok when open, the last pass worked and the database answers. */
  health(timeoutMs?: number): Promise<BusHealth>;
  /** Resolves once no committed row waits (a pass is started at once); rejects after `timeoutMs` (default 30 s). */
  drain(timeoutMs?: number): Promise<void>;
  /** Stops after the pass under way (its transaction commits or rolls back) and stops listening. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive integer`, { backend: 'outbox' });
  }
  return value;
}

function toHeaders(value: unknown): Headers {
  if (typeof value === 'string') return JSON.parse(value) as Headers;
  return (value ?? {}) as Headers;
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new TypeError('outbox payload column did not come back as bytes');
}

/** Outcome of one pass. */
interface Pass {
  readonly forwarded: number;
  /** Another relay holds the lock. */
  readonly standby: boolean;
  /** Committed rows exist that an older open transaction still hides (xmin rule): look again soon. */
  readonly held: boolean;
}

/**
 * Starts forwarding committed outbox rows to `bus`. Rows go in the order their transactions were
 * assigned ids (`xid8`), then the order they were written, and only once every older transaction
 * has ended (`xid < pg_snapshot_xmin(pg_current_snapshot())`), so a slow transaction is never
 * skipped. Each batch runs in one transaction that holds the schema's advisory lock: several
 * relays on one database take turns, and a relay that dies mid-batch leaves its rows to the next.
 * A row is marked or deleted only after `publishBatch` resolved (the bus acknowledged it);
 * each message keeps the row's id, so a re-forward is absorbed where the backend dedupes.
 */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const names = schemaNames(options.schema ?? DEFAULT_SCHEMA);
  const batchSize = positiveInteger(options.batchSize, 100, 'batchSize');
  const pollIntervalMs = positiveInteger(options.pollIntervalMs, 1_000, 'pollIntervalMs');
  const cleanupIntervalMs = positiveInteger(options.cleanupIntervalMs, 60_000, 'cleanupIntervalMs');
  const maxRetryDelayMs = positiveInteger(options.maxRetryDelayMs, 5_000, 'maxRetryDelayMs');
  const retention = options.retention ?? { keepPublishedForMs: DAY_MS };
  if (retention !== 'delete' && !(retention?.keepPublishedForMs >= 0)) {
    throw new InvalidArgumentError("retention must be 'delete' or { keepPublishedForMs: number ≥ 0 }", {
      backend: 'outbox',
    });
  }
  const { database, bus } = options;
  if (typeof database?.transaction !== 'function') {
    throw new InvalidArgumentError(
      'database must be an OutboxDatabase (pgDatabase(pool) or postgresDatabase(sql))',
      {
        backend: 'outbox',
      },
    );
  }
  if (typeof bus?.publishBatch !== 'function') {
    throw new InvalidArgumentError('bus must be an Omnibus EventBus', { backend: 'outbox' });
  }
  const logger = options.logger ?? console;
  const lockKey = `omnibus-outbox-relay:${names.schema}`;
  const wakeup = new Wakeup();
  let state: 'open' | 'closing' | 'closed' = 'open';
  let forwarded = 0;
  let batches = 0;
  let errors = 0;
  let failing: string | undefined;
  let standby = false;
  let lastForwardAt: number | undefined;
  let lastCleanupAt = 0;

  function status(event: RelayStatus): void {
    try {
      options.onStatus?.(event);
    } catch {
      // a throwing listener never stops the relay
    }
  }

  async function pass(): Promise<Pass> {
    return database.transaction(async (tx: Transaction): Promise<Pass> => {
      const [lock] = await runQuery(tx, 'SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked', [
        lockKey,
      ]);
      if (!lock?.locked) return { forwarded: 0, standby: true, held: false };
      const rows = await runQuery(
        tx,
        `SELECT position, id, subject, payload, headers FROM ${names.outbox}
          WHERE published_at IS NULL AND xid < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
          ORDER BY xid, position LIMIT $1`,
        [batchSize],
      );
      if (rows.length === 0) {
        const [waiting] = await runQuery(
          tx,
          `SELECT EXISTS (SELECT 1 FROM ${names.outbox} WHERE published_at IS NULL) AS held`,
        );
        return { forwarded: 0, standby: false, held: waiting?.held === true };
      }
      await bus.publishBatch(
        rows.map((row: Row) => ({
          subject: row.subject as string,
          payload: toBytes(row.payload),
          id: row.id as string,
          headers: toHeaders(row.headers),
        })),
      );
      const positions = rows.map((row) => String(row.position));
      // The mark need not wait for its WAL flush: lost in a database crash, it only means these
      // rows are forwarded again (same ids), which at-least-once allows. One fsync less per batch.
      await runQuery(tx, 'SET LOCAL synchronous_commit = off');
      await runQuery(
        tx,
        retention === 'delete'
          ? `DELETE FROM ${names.outbox} WHERE position = ANY($1::bigint[])`
          : `UPDATE ${names.outbox} SET published_at = now() WHERE position = ANY($1::bigint[])`,
        [positions],
      );
      return { forwarded: rows.length, standby: false, held: false };
    });
  }

  async function cleanup(): Promise<void> {
    if (retention === 'delete' || Date.now() - lastCleanupAt < cleanupIntervalMs) return;
    lastCleanupAt = Date.now();
    await database.transaction((tx: Transaction) =>
      runQuery(
        tx,
        `DELETE FROM ${names.outbox} WHERE position IN (
          SELECT position FROM ${names.outbox}
           WHERE published_at IS NOT NULL AND published_at < now() - $1 * interval '1 millisecond' LIMIT 10000)`,
        [retention.keepPublishedForMs],
      ),
    );
  }

  let stopListening: (() => Promise<void>) | undefined;
  let listenFailedAt = 0;
  async function ensureListening(): Promise<void> {
    if (stopListening || !database.listen || Date.now() - listenFailedAt < pollIntervalMs) return;
    try {
      stopListening = await database.listen(
        names.channel,
        () => wakeup.wake(),
        () => {
          stopListening = undefined;
          listenFailedAt = Date.now();
        },
      );
      if (state !== 'open') await stopListening();
    } catch {
      listenFailedAt = Date.now();
    }
  }

  async function run(): Promise<void> {
    let retryDelayMs = 100;
    let heldDelayMs = 5;
    while (state === 'open') {
      await ensureListening();
      if (state !== 'open') break;
      wakeup.reset();
      let outcome: Pass;
      try {
        outcome = await pass();
        await cleanup();
        if (failing !== undefined) {
          failing = undefined;
          log(logger, 'warn', '[omnibus:outbox] relay recovered: forwarding again');
          status({ type: 'relay-recovered' });
        }
        retryDelayMs = 100;
      } catch (error) {
        errors += 1;
        const detail = describe(explainDatabaseError(error, names));
        if (failing === undefined) {
          log(logger, 'warn', `[omnibus:outbox] relay pass failed (rolled back, will retry): ${detail}`);
        }
        failing = detail;
        status({ type: 'relay-error', detail });
        await wakeup.sleep(retryDelayMs);
        retryDelayMs = Math.min(retryDelayMs * 2, maxRetryDelayMs);
        continue;
      }
      if (outcome.standby !== standby) {
        standby = outcome.standby;
        status({ type: standby ? 'relay-standby' : 'relay-active' });
      }
      if (outcome.forwarded > 0) {
        forwarded += outcome.forwarded;
        batches += 1;
        lastForwardAt = Date.now();
        heldDelayMs = 5;
        if (outcome.forwarded === batchSize) continue;
      }
      if (outcome.held) {
        await wakeup.sleep(heldDelayMs);
        heldDelayMs = Math.min(heldDelayMs * 2, pollIntervalMs);
      } else {
        await wakeup.sleep(pollIntervalMs);
      }
    }
  }

  const running = run();

  async function lag(): Promise<OutboxLag> {
    const [row] = await database
      .transaction((tx: Transaction) =>
        runQuery(
          tx,
          `SELECT count(*)::bigint AS rows, coalesce(extract(epoch FROM clock_timestamp() - min(created_at)) * 1000, 0) AS oldest
           FROM ${names.outbox} WHERE published_at IS NULL`,
        ),
      )
      .catch((error: unknown) => {
        throw explainDatabaseError(error, names);
      });
    return { rows: Number(row?.rows ?? 0), oldestAgeMs: Math.max(0, Math.round(Number(row?.oldest ?? 0))) };
  }

  async function close(): Promise<void> {
    if (state === 'open') {
      state = 'closing';
      wakeup.wake();
      await running;
      await stopListening?.().catch(() => undefined);
      stopListening = undefined;
      state = 'closed';
    } else {
      await running;
    }
  }

  return {
    stats: () => ({
      forwarded,
      batches,
      errors,
      standby,
      ...(lastForwardAt === undefined ? {} : { lastForwardAt }),
    }),
    lag,
    async health(timeoutMs = 2_000): Promise<BusHealth> {
      const base = { backend: 'outbox', state, connectionLost: failing !== undefined };
      if (state !== 'open') return { ...base, ok: false, detail: `the relay is ${state}` };
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          database.transaction((tx: Transaction) => runQuery(tx, 'SELECT 1')),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
      } catch (error) {
        return { ...base, ok: false, detail: describe(error) };
      } finally {
        clearTimeout(timer);
      }
      const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
      if (failing !== undefined) return { ...base, ok: false, latencyMs, detail: failing };
      return { ...base, ok: true, latencyMs };
    },
    async drain(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (state !== 'open')
          throw new InvalidArgumentError('drain(): the relay is closed', { backend: 'outbox' });
        wakeup.wake();
        const { rows } = await lag();
        if (rows === 0) return;
        if (Date.now() >= deadline) {
          throw new InvalidArgumentError(`drain(): ${rows} rows still waiting after ${timeoutMs} ms`, {
            backend: 'outbox',
            hint: failing
              ? `the last pass failed: ${failing}`
              : 'is another relay holding the lock, or the bus down?',
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
