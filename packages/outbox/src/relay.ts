import { AsyncResource } from 'node:async_hooks';
import {
  type BatchEntry,
  BusClosedError,
  type BusHealth,
  ConfigError,
  ConnectionError,
  type EventBus,
  type Headers,
  InvalidArgumentError,
  type Logger,
  log,
  MAX_TIMER_MS,
  OmnibusError,
  settledWithin,
  TimeoutError,
  withTimeout,
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
  /** Schema of the outbox tables: the one given to `migrate` and `createOutbox`. Default `omnibus`. */
  schema?: string;
  /** Rows forwarded per transaction (one `publishBatch`). Default 100. */
  batchSize?: number;
  /** Longest wait between passes when no NOTIFY arrives (ms). Default 1,000. */
  pollIntervalMs?: number;
  /**
   * Forwarded rows are marked (`published_at`) and deleted after `keepPublishedForMs` (default
   * 24 h, at most 10 years), or deleted at once with `'delete'`.
   */
  retention?: Retention;
  /** How often marked rows past their retention are deleted (ms). Default 60,000. */
  cleanupIntervalMs?: number;
  /** Longest wait after a failed pass (ms); waits double from 100 ms up to it. Default 5,000. */
  maxRetryDelayMs?: number;
  /**
   * Longest a pass's statements may run, and its transaction may sit idle while the bus
   * acknowledges (ms): past it the server ends the session, the pass is rolled back and its lock
   * released for another relay. Default 60,000.
   */
  passTimeoutMs?: number;
  /** Default `console`; failures, recoveries and rows set aside at warn level. */
  logger?: Logger;
  /** Status events: `relay-error`, `relay-recovered`, `relay-active`, `relay-standby`, `relay-refused`. */
  onStatus?: (status: RelayStatus) => void;
}

/** A status event of the relay (never contains credentials). */
export interface RelayStatus {
  readonly type: 'relay-error' | 'relay-recovered' | 'relay-active' | 'relay-standby' | 'relay-refused';
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
  /** Rows the bus refused for good (invalid for it), set aside with `failed_at` and `error`. */
  readonly refused: number;
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
  /** Rows set aside because the bus refused them for good (`relay.retryFailed()` sends them again). */
  readonly failed: number;
}

/** A running relay. */
export interface Relay {
  stats(): RelayStats;
  /** Counts the rows still to forward and those set aside (one query). */
  lag(): Promise<OutboxLag>;
  /** Health in the buses' shape (`backend: 'outbox'`): ok when open, the last pass worked and the database answers. */
  health(timeoutMs?: number): Promise<BusHealth>;
  /**
   * Resolves once no committed row waits (a pass is started at once). Rejects with a
   * `TimeoutError` after `timeoutMs` (default 30 s) — any open transaction of the database server
   * holds rows back — and with a `BusClosedError` once the relay is closed.
   */
  drain(timeoutMs?: number): Promise<void>;
  /** Puts the rows set aside back in line (after the bus or the rows were fixed); returns how many. */
  retryFailed(): Promise<number>;
  /** Stops after the pass under way (its transaction commits or rolls back) and stops listening. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_KEEP_MS = 3650 * DAY_MS;
const CLEANUP_ROWS = 10_000;
const CLEANUP_ROUNDS = 20;
/** Errors that no retry will cure: the bus refuses the message itself. */
const REFUSED_FOR_GOOD = new Set(['INVALID_SUBJECT', 'INVALID_ARGUMENT', 'PAYLOAD_TOO_LARGE', 'VALIDATION']);

/**
 * The async context this module was loaded in (normally none): the relay's loop runs in it, not in
 * the caller's, so a span active where `startRelay` was called does not adopt every forward.
 */
const detached = new AsyncResource('omnibus.outbox.relay');

const MAX_BATCH = 10_000;
/** Longest `close()` waits, past `passTimeoutMs`, for a pass that cannot end (one stuck waiting for a connection). */
const CLOSE_GRACE_MS = 1_000;

function positiveInteger(
  value: number | undefined,
  fallback: number,
  name: string,
  max = MAX_TIMER_MS,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0 || value > max) {
    throw new InvalidArgumentError(
      `${name} must be a positive integer of at most ${max.toLocaleString('en')}`,
      {
        backend: 'outbox',
      },
    );
  }
  return value;
}

/** A wait given to `drain()` or `health()`: a finite number of ms, at least 0. */
function waitMs(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new InvalidArgumentError(`${name} must be a number of milliseconds, at least 0`, {
      backend: 'outbox',
    });
  return value;
}

function toHeaders(value: unknown): Headers {
  if (typeof value === 'string') return JSON.parse(value) as Headers;
  return (value ?? {}) as Headers;
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new ConfigError('database', 'the outbox payload column (bytea) did not come back as bytes', {
    backend: 'outbox',
    hint: 'a custom type parser for bytea on this client changes what the relay reads: keep the default one',
  });
}

function refusedForGood(error: unknown): boolean {
  return error instanceof OmnibusError && REFUSED_FOR_GOOD.has(error.code);
}

/** Outcome of one pass. */
interface Pass {
  readonly forwarded: number;
  /** Rows set aside in this pass. */
  readonly refused: number;
  /** Another relay holds the lock. */
  readonly standby: boolean;
  /** Committed rows exist that an older open transaction still hides (xmin rule): look again soon. */
  readonly held: boolean;
  /** The bus failed after part of the batch was forwarded (and marked): back off as after a failure. */
  readonly error?: unknown;
}

/**
 * Starts forwarding committed outbox rows to `bus`. Rows go in the order their transactions were
 * assigned ids (`xid8`), then the order they were written, and only once every older transaction
 * has ended (`xid < pg_snapshot_xmin(pg_current_snapshot())`), so a slow transaction is never
 * skipped. Each batch runs in one transaction that holds the schema's advisory lock: several
 * relays on one database take turns, and a relay that dies mid-batch leaves its rows to the next.
 * A row is marked or deleted only after the bus acknowledged it; each message keeps the row's id,
 * so a re-forward is absorbed where the backend dedupes. A row the bus refuses for good (invalid
 * for it: too large, a bad header) is set aside (`failed_at`, `error`) instead of stopping the rows
 * behind it; `relay.retryFailed()` puts such rows back in line.
 */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const names = schemaNames(options.schema ?? DEFAULT_SCHEMA);
  const batchSize = positiveInteger(options.batchSize, 100, 'batchSize', MAX_BATCH);
  const pollIntervalMs = positiveInteger(options.pollIntervalMs, 1_000, 'pollIntervalMs');
  const cleanupIntervalMs = positiveInteger(options.cleanupIntervalMs, 60_000, 'cleanupIntervalMs');
  const maxRetryDelayMs = positiveInteger(options.maxRetryDelayMs, 5_000, 'maxRetryDelayMs');
  const passTimeoutMs = positiveInteger(options.passTimeoutMs, 60_000, 'passTimeoutMs');
  const retention = options.retention ?? { keepPublishedForMs: DAY_MS };
  if (
    retention !== 'delete' &&
    !(
      typeof retention?.keepPublishedForMs === 'number' &&
      retention.keepPublishedForMs >= 0 &&
      retention.keepPublishedForMs <= MAX_KEEP_MS
    )
  ) {
    throw new InvalidArgumentError(
      "retention must be 'delete' or { keepPublishedForMs: 0 … 10 years in ms }",
      {
        backend: 'outbox',
      },
    );
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
  let refused = 0;
  let failing: { detail: string; connection: boolean } | undefined;
  let standby = false;
  let lastForwardAt: number | undefined;
  let lastCleanupAt = 0;
  let cleanupFailing = false;

  function status(event: RelayStatus): void {
    try {
      options.onStatus?.(event);
    } catch {
      // a throwing listener never stops the relay
    }
  }

  /** Every pass and clean-up: read committed, bounded in time (a lost session cannot hold the lock for hours). */
  async function begin(tx: Transaction): Promise<void> {
    await runQuery(tx, 'SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
    await runQuery(tx, `SET LOCAL statement_timeout = ${passTimeoutMs}`);
    await runQuery(tx, `SET LOCAL idle_in_transaction_session_timeout = ${passTimeoutMs}`);
  }

  async function mark(tx: Transaction, rows: readonly Row[]): Promise<void> {
    if (rows.length === 0) return;
    const positions = rows.map((row) => String(row.position));
    await runQuery(
      tx,
      retention === 'delete'
        ? `DELETE FROM ${names.outbox} WHERE position = ANY($1::bigint[])`
        : `UPDATE ${names.outbox} SET published_at = now() WHERE position = ANY($1::bigint[])`,
      [positions],
    );
  }

  async function setAside(tx: Transaction, row: Row, error: unknown): Promise<void> {
    const detail = describe(error).slice(0, 2_000);
    await runQuery(
      tx,
      `UPDATE ${names.outbox} SET failed_at = now(), error = $2 WHERE position = $1::bigint`,
      [String(row.position), detail],
    );
    log(
      logger,
      'warn',
      `[omnibus:outbox] the bus refused outbox row ${String(row.id)} for good; set aside: ${detail}`,
    );
    status({ type: 'relay-refused', detail: `${String(row.id)}: ${detail}` });
  }

  const entryOf = (row: Row): BatchEntry => ({
    subject: row.subject as string,
    payload: toBytes(row.payload),
    id: row.id as string,
    headers: toHeaders(row.headers),
    // a row is deleted once the broker stored it: never the fast path, whatever the bus's default
    delivery: 'at-least-once',
  });

  /** One row at a time, after the bus refused a batch for good: forwards what it can, sets aside what it must. */
  async function oneByOne(tx: Transaction, rows: readonly Row[]): Promise<Pass> {
    let done = 0;
    let aside = 0;
    for (const row of rows) {
      if (state !== 'open') break; // closing: the rest stay for the next pass (or relay)
      try {
        await bus.publishBatch([entryOf(row)]);
      } catch (error) {
        if (!refusedForGood(error))
          return { forwarded: done, refused: aside, standby: false, held: false, error };
        await setAside(tx, row, error);
        aside += 1;
        continue;
      }
      await mark(tx, [row]);
      done += 1;
    }
    return { forwarded: done, refused: aside, standby: false, held: false };
  }

  /** A pass is waiting for a connection from the pool (what a bounded close gives up on). */
  let awaitingConnection = false;
  async function pass(): Promise<Pass> {
    let connected = false;
    awaitingConnection = true;
    // a pass that gets no connection from the pool (too small: LISTEN holds one of them) would wait
    // without a word: say so once, and count it, while it waits
    const waiting = setTimeout(() => {
      if (connected) return;
      failed(
        new ConnectionError(`a relay pass has waited ${passTimeoutMs} ms for a database connection`, {
          backend: 'outbox',
          hint: 'the pool has no free connection: the relay holds one for LISTEN and needs one more for its passes (give it at least 2), or the pool is exhausted by other work',
        }),
      );
    }, passTimeoutMs);
    waiting.unref?.();
    try {
      return await database.transaction(async (tx: Transaction): Promise<Pass> => {
        connected = true;
        awaitingConnection = false;
        // closed while this pass waited for its connection: it forwards nothing any more
        if (state !== 'open') return { forwarded: 0, refused: 0, standby: false, held: false };
        return forward(tx);
      });
    } finally {
      awaitingConnection = false;
      clearTimeout(waiting);
    }
  }

  /** One batch in `tx`: take the lock, read the rows ready, forward them, mark them. */
  async function forward(tx: Transaction): Promise<Pass> {
    await begin(tx);
    const [lock] = await runQuery(tx, 'SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked', [lockKey]);
    if (!lock?.locked) return { forwarded: 0, refused: 0, standby: true, held: false };
    const rows = await runQuery(
      tx,
      `SELECT position, id, subject, payload, headers FROM ${names.outbox}
        WHERE published_at IS NULL AND failed_at IS NULL
          AND xid < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
        ORDER BY xid, position LIMIT $1`,
      [batchSize],
    );
    if (rows.length === 0) {
      const [waiting] = await runQuery(
        tx,
        `SELECT EXISTS (SELECT 1 FROM ${names.outbox} WHERE published_at IS NULL AND failed_at IS NULL) AS held`,
      );
      return { forwarded: 0, refused: 0, standby: false, held: waiting?.held === true };
    }
    // The marks need not wait for their WAL flush: lost in a database crash, they only mean these
    // rows are forwarded again (same ids), which at-least-once allows. One fsync less per batch.
    await runQuery(tx, 'SET LOCAL synchronous_commit = off');
    try {
      await bus.publishBatch(rows.map(entryOf));
    } catch (error) {
      if (refusedForGood(error)) return oneByOne(tx, rows);
      // a batch that failed part-way: its acknowledged prefix is marked, the rest tried again
      const accepted =
        error instanceof OmnibusError && 'accepted' in error ? (error.accepted as unknown[]).length : 0;
      if (accepted === 0) throw error;
      await mark(tx, rows.slice(0, accepted));
      return { forwarded: accepted, refused: 0, standby: false, held: false, error };
    }
    await mark(tx, rows);
    return { forwarded: rows.length, refused: 0, standby: false, held: false };
  }

  async function cleanup(): Promise<void> {
    if (retention === 'delete' || Date.now() - lastCleanupAt < cleanupIntervalMs) return;
    lastCleanupAt = Date.now();
    try {
      // rounds of 10,000 while rounds come back full: keeps up with any rate, bounded per call
      for (let round = 0; round < CLEANUP_ROUNDS && state === 'open'; round++) {
        const [deleted] = await database.transaction(async (tx: Transaction) => {
          await begin(tx);
          return runQuery(
            tx,
            `WITH gone AS (DELETE FROM ${names.outbox} WHERE position IN (
               SELECT position FROM ${names.outbox}
                WHERE published_at IS NOT NULL AND published_at < now() - $1 * interval '1 millisecond'
                LIMIT ${CLEANUP_ROWS}) RETURNING 1)
             SELECT count(*)::int AS n FROM gone`,
            [retention.keepPublishedForMs],
          );
        });
        if (Number(deleted?.n ?? 0) < CLEANUP_ROWS) break;
      }
      cleanupFailing = false;
    } catch (error) {
      // forwarding goes on; a failed clean-up is tried again at the next interval
      if (!cleanupFailing) {
        log(
          logger,
          'warn',
          `[omnibus:outbox] clean-up of forwarded rows failed: ${describe(explainDatabaseError(error, names))}`,
        );
      }
      cleanupFailing = true;
    }
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

  function failed(error: unknown): void {
    errors += 1;
    const explained = explainDatabaseError(error, names);
    const detail = describe(explained);
    if (failing === undefined) {
      log(logger, 'warn', `[omnibus:outbox] relay pass failed (rolled back, will retry): ${detail}`);
    }
    // explainDatabaseError turns a lost database connection into a ConnectionError
    failing = { detail, connection: (explained as OmnibusError)?.code === 'CONNECTION' };
    status({ type: 'relay-error', detail });
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
      } catch (error) {
        failed(error);
        await wakeup.sleep(retryDelayMs, { wakeable: false });
        retryDelayMs = Math.min(retryDelayMs * 2, maxRetryDelayMs);
        continue;
      }
      if (outcome.forwarded > 0) {
        forwarded += outcome.forwarded;
        batches += 1;
        lastForwardAt = Date.now();
        heldDelayMs = 5;
      }
      refused += outcome.refused;
      if (outcome.error !== undefined) {
        failed(outcome.error);
        await wakeup.sleep(retryDelayMs, { wakeable: false });
        retryDelayMs = Math.min(retryDelayMs * 2, maxRetryDelayMs);
        continue;
      }
      if (failing !== undefined) {
        failing = undefined;
        log(logger, 'warn', '[omnibus:outbox] relay recovered: forwarding again');
        status({ type: 'relay-recovered' });
      }
      retryDelayMs = 100;
      if (outcome.standby !== standby) {
        standby = outcome.standby;
        status({ type: standby ? 'relay-standby' : 'relay-active' });
      }
      await cleanup();
      if (outcome.forwarded + outcome.refused >= batchSize) continue;
      if (outcome.held) {
        // an older transaction is open: look again soon (not at every NOTIFY), then less often
        await wakeup.sleep(heldDelayMs, { wakeable: false });
        heldDelayMs = Math.min(heldDelayMs * 2, pollIntervalMs);
      } else {
        await wakeup.sleep(pollIntervalMs);
      }
    }
  }

  const running = detached.runInAsyncScope(run);

  async function lag(): Promise<OutboxLag> {
    try {
      const [row] = await database.transaction((tx: Transaction) =>
        runQuery(
          tx,
          `SELECT count(*) FILTER (WHERE failed_at IS NULL)::bigint AS rows,
                  count(*) FILTER (WHERE failed_at IS NOT NULL)::bigint AS failed,
                  coalesce(extract(epoch FROM clock_timestamp() - min(created_at) FILTER (WHERE failed_at IS NULL)) * 1000, 0) AS oldest
             FROM ${names.outbox} WHERE published_at IS NULL`,
        ),
      );
      return {
        rows: Number(row?.rows ?? 0),
        oldestAgeMs: Math.max(0, Math.round(Number(row?.oldest ?? 0))),
        failed: Number(row?.failed ?? 0),
      };
    } catch (error) {
      throw explainDatabaseError(error, names);
    }
  }

  /**
   * Waits for the loop to end: fully while a pass forwards (it may not outlive the close), but
   * at most `passTimeoutMs` + 1 s while a pass waits for a connection — it then forwards nothing
   * when it gets one.
   */
  async function endOfRun(): Promise<void> {
    const deadline = Date.now() + passTimeoutMs + CLOSE_GRACE_MS;
    while (!(await settledWithin(running, 100))) {
      if (awaitingConnection && Date.now() >= deadline) return;
    }
  }

  async function close(): Promise<void> {
    if (state === 'open') {
      state = 'closing';
      wakeup.interrupt();
      // LISTEN first: its connection may be the one a stuck pass waits for
      await stopListening?.().catch(() => undefined);
      stopListening = undefined;
      // (a LISTEN set up meanwhile by the loop is stopped there: it checks the state after)
      await endOfRun();
      state = 'closed';
    } else {
      await endOfRun();
    }
  }

  return {
    stats: () => ({
      forwarded,
      batches,
      errors,
      refused,
      standby,
      ...(lastForwardAt === undefined ? {} : { lastForwardAt }),
    }),
    lag,
    async health(timeoutMs = 2_000): Promise<BusHealth> {
      waitMs(timeoutMs, 'health(timeoutMs)');
      const base = { backend: 'outbox', state, connectionLost: failing?.connection === true };
      if (state !== 'open') return { ...base, ok: false, detail: `the relay is ${state}` };
      const started = performance.now();
      try {
        await withTimeout(
          database.transaction((tx: Transaction) => runQuery(tx, 'SELECT 1')),
          timeoutMs,
          `no answer within ${timeoutMs} ms`,
        );
      } catch (error) {
        return { ...base, connectionLost: true, ok: false, detail: describe(error) };
      }
      const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
      if (failing !== undefined) return { ...base, ok: false, latencyMs, detail: failing.detail };
      return { ...base, ok: true, latencyMs };
    },
    async drain(timeoutMs = 30_000) {
      waitMs(timeoutMs, 'drain(timeoutMs)');
      const deadline = Date.now() + timeoutMs;
      let waiting: string | undefined;
      for (;;) {
        if (state !== 'open') throw new BusClosedError({ backend: 'outbox', hint: 'drain() before close()' });
        wakeup.wake();
        try {
          // bounded by what is left: a locked table or a hung database must not hold drain() past its timeout
          const { rows } = await withTimeout(
            lag(),
            Math.max(1, deadline - Date.now()),
            'no answer before the timeout',
          );
          if (rows === 0) return;
          waiting = `${rows} ${rows === 1 ? 'row' : 'rows'} still waiting`;
        } catch (error) {
          // cut short by the deadline: what the last answer said still holds
          if (waiting === undefined || Date.now() < deadline)
            waiting = `the database did not answer (${describe(error)})`;
        }
        if (Date.now() >= deadline) {
          throw new TimeoutError(`drain(): ${waiting} after ${timeoutMs} ms`, {
            backend: 'outbox',
            hint: failing
              ? `the last pass failed: ${failing.detail}`
              : 'an open transaction anywhere on the database server holds newer rows back (see pg_stat_activity), or another relay holds the lock',
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async retryFailed() {
      try {
        const [row] = await database.transaction((tx: Transaction) =>
          runQuery(
            tx,
            `WITH back AS (UPDATE ${names.outbox} SET failed_at = NULL, error = NULL WHERE failed_at IS NOT NULL RETURNING 1)
             SELECT count(*)::int AS n FROM back`,
          ),
        );
        wakeup.wake();
        return Number(row?.n ?? 0);
      } catch (error) {
        throw explainDatabaseError(error, names);
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
