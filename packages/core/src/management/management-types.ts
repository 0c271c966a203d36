import type { Headers } from '../types.js';

// ---- the driver's side: what only the broker can answer -----------------------------------

/** A message as the backend retains it, read by the management API (never handed to a handler). */
export interface StoredMessage {
  /** The backend's reference to this stored copy: opaque, stable, what `remove` takes. */
  readonly ref: string;
  readonly id: string;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly headers: Readonly<Headers>;
  /** Epoch milliseconds. */
  readonly publishedAt: number;
}

/** One consumer group as the broker sees it. A figure the broker cannot tell is left out, never guessed. */
export interface GroupInfo {
  readonly group: string;
  /** The patterns its members subscribe with, where the backend records them. */
  readonly patterns: readonly string[];
  /** Members connected now. */
  readonly members?: number;
  /** Delivered to a member and not settled yet. */
  readonly pending?: number;
  /** Not delivered yet. */
  readonly lag?: number;
  /** Delivered more than once (a redelivery counted once per message where the broker says so). */
  readonly redelivered?: number;
}

/**
 * The optional management half of a driver (`BusDriver.management`): only what a broker must
 * answer itself. Listing, selecting, redriving and purging dead letters are built on it once, in core.
 */
export interface DriverManagement {
  /**
   * Every retained message whose subject matches `pattern`, oldest first per subject, ending
   * at what was stored when the call began (new messages arriving meanwhile are not waited for).
   */
  browse(pattern: string, options?: { readonly signal?: AbortSignal }): AsyncIterable<StoredMessage>;
  /** Deletes stored copies by reference; a reference already gone is not an error. */
  remove(refs: readonly string[]): Promise<void>;
  /** Every consumer group the bus can see, with its figures. */
  groups(): Promise<GroupInfo[]>;
}

// ---- the user's side -------------------------------------------------------------------------

/** A dead-lettered message, read from its stored copy and its `omnibus-dlq-*` headers. */
export interface DeadLetter {
  /** The stored copy's reference (for `show`, or a selection by `refs`). */
  readonly ref: string;
  /** The original message's id. */
  readonly id: string;
  /** The subject it was published to, and where a redrive sends it. */
  readonly subject: string;
  /** Where the dead letter is stored (by default `dlq.<subject>`). */
  readonly deadLetterSubject: string;
  /** The group that gave up on it ('' / undefined for an ungrouped subscription). */
  readonly group: string | undefined;
  readonly reason: string;
  readonly error: string | undefined;
  /** Hand-outs the application saw before it was dead-lettered. */
  readonly attempts: number;
  /** When it was dead-lettered (epoch ms). */
  readonly at: number;
  /** How many times it was redriven before (0 for a first failure). */
  readonly redriveCount: number;
  /** Every header as stored, `omnibus-dlq-*` included. */
  readonly headers: Readonly<Headers>;
  readonly payload: Uint8Array;
}

/** Which dead letters an operation applies to. Every field narrows; none means all. */
export interface DeadLetterSelection {
  /** Where dead letters are stored: a pattern over dead-letter subjects. Default `dlq.>`. */
  readonly in?: string;
  /** The original subject, as a pattern (`orders.>`). */
  readonly subject?: string;
  /** The group that dead-lettered it. */
  readonly group?: string;
  /** Text (case-insensitive substring) or RegExp matched against the error and the reason. */
  readonly error?: string | RegExp;
  /** Dead-lettered at or after (epoch ms or Date). */
  readonly since?: number | Date;
  /** Dead-lettered before (epoch ms or Date). */
  readonly until?: number | Date;
  /** Exactly these stored copies (references from `list`). */
  readonly refs?: readonly string[];
}

/** A page of dead letters, oldest first. */
export interface DeadLetterPage {
  readonly items: DeadLetter[];
  /**
   * Pass as `after` for the next page; absent on the last page. It keeps its place when the
   * dead letters it follows are redriven or purged meanwhile.
   */
  readonly next?: string;
}

/** What a redrive or purge has done so far (also its result). */
export interface DeadLetterProgress {
  /** Dead letters selected so far. */
  readonly selected: number;
  /** Republished and acknowledged (redrive) or removed (purge); 0 on a dry run. */
  readonly done: number;
  /**
   * Selected but left where they are: a redrive whose copy `publish` would refuse (the stored
   * subject is a pattern or no valid subject, a stored header is invalid) — see `skippedListed`.
   */
  readonly skipped: number;
  /** Republished but their dead letter not removed yet (a redrive stopped there leaves both). */
  readonly pendingRemoval: number;
}

/** The result of a redrive or purge. */
export interface DeadLetterReport extends DeadLetterProgress {
  readonly dryRun: boolean;
  /** Stopped by its signal before the selection was exhausted. */
  readonly stopped: boolean;
  /** The dead letters selected (on a dry run: what would move), at most `maxListed`. */
  readonly listed: DeadLetter[];
  /** The skipped ones (see `skipped`) with the reason, at most `maxListed`. */
  readonly skippedListed: readonly {
    readonly ref: string;
    readonly subject: string;
    readonly reason: string;
  }[];
  /**
   * A dry run's whole selection by reference, every one of them: pass it as the selection's
   * `refs` to move exactly what the dry run showed, and nothing dead-lettered since.
   */
  readonly refs?: readonly string[];
  readonly elapsedMs: number;
}

/** Options of `redrive`. */
export interface RedriveOptions {
  /** Publish here instead of each message's original subject. */
  readonly to?: string;
  /** Republishes per second; 0 (default) is unlimited. */
  readonly rate?: number;
  /** Report what would move; change nothing. */
  readonly dryRun?: boolean;
  /** Stops between messages: everything is then still dead-lettered, republished, or both. */
  readonly signal?: AbortSignal;
  /** Called after each message (for a progress bar). */
  readonly onProgress?: (progress: DeadLetterProgress) => void;
  /** How many selected dead letters the report lists (default 100). */
  readonly maxListed?: number;
}

/** Options of `purge`. */
export interface PurgeOptions {
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: DeadLetterProgress) => void;
  readonly maxListed?: number;
}

/** Dead letters: list, show, redrive, purge — the same on every backend. */
export interface DeadLetters {
  /** A page of dead letters matching `selection`, oldest first (`limit` default 100). */
  list(
    selection?: DeadLetterSelection & { readonly limit?: number; readonly after?: string },
  ): Promise<DeadLetterPage>;
  /** One dead letter by reference, or undefined when it is gone. */
  show(ref: string, options?: { readonly in?: string }): Promise<DeadLetter | undefined>;
  /**
   * Republishes the selected dead letters to their original subject (or `to`) with audit
   * headers, and removes each dead letter only after its republish was acknowledged.
   */
  redrive(selection?: DeadLetterSelection, options?: RedriveOptions): Promise<DeadLetterReport>;
  /** Removes the selected dead letters. */
  purge(selection?: DeadLetterSelection, options?: PurgeOptions): Promise<DeadLetterReport>;
}

/** The management side of a bus: `manage(bus)`. */
export interface BusManagement {
  readonly backend: string;
  readonly deadLetters: DeadLetters;
  /** Every consumer group the bus can see, with pending, lag and redelivered where the broker tells them. */
  groups(): Promise<GroupInfo[]>;
}
