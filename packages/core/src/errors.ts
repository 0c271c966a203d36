import { redact } from './redact.js';

/** Stable machine-readable error codes. Never identify an error by its message text. */
export type OmnibusErrorCode =
  | 'INVALID_SUBJECT'
  | 'INVALID_ARGUMENT'
  | 'PAYLOAD_TOO_LARGE'
  | 'BUS_CLOSED'
  | 'CONNECTION'
  | 'CONFIG'
  | 'ADAPTER_NOT_INSTALLED'
  | 'PUBLISH_FAILED'
  | 'BACKPRESSURE'
  | 'VALIDATION'
  | 'TIMEOUT'
  | 'ABORTED'
  /** A database transaction was rolled back instead of committed (the outbox and inbox). */
  | 'ROLLED_BACK';

/** Options every Omnibus error accepts. */
export interface OmnibusErrorOptions {
  /** The underlying error, kept for debugging (its message is redacted when shown by Omnibus). */
  cause?: unknown;
  /** The backend that raised the error (`memory`, `nats`, `redis`, `kafka`); prefixes the message. */
  backend?: string;
  /** What the person reading the error can do about it, e.g. the command to run (redacted). */
  hint?: string;
}

/**
 * Base class of every error Omnibus throws. `code` is stable across releases;
 * messages are prefixed with `[omnibus:<backend>]` and never contain credentials.
 */
export class OmnibusError extends Error {
  /** Stable code; switch on this (or use `instanceof`), never on the message. */
  readonly code: OmnibusErrorCode;
  // `declare`d and set only when known: `console.log(error)` shows no `hint: undefined`
  /** Backend that raised the error, when known. */
  declare readonly backend: string | undefined;
  /** What to do about it, when Omnibus knows (never contains credentials). */
  declare readonly hint: string | undefined;

  constructor(code: OmnibusErrorCode, message: string, options: OmnibusErrorOptions = {}) {
    const prefix = `[omnibus${options.backend ? `:${options.backend}` : ''}]`;
    super(`${prefix} ${redact(message)}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.backend !== undefined) this.backend = options.backend;
    if (options.hint !== undefined) this.hint = redact(options.hint);
  }
}

/** A subject or pattern breaks the subject grammar (see docs/subjects.md). Nothing was sent. */
export class InvalidSubjectError extends OmnibusError {
  /** The offending subject or pattern (subjects never carry credentials). */
  readonly subject: string;
  constructor(subject: string, reason: string, options?: OmnibusErrorOptions) {
    super('INVALID_SUBJECT', `invalid subject ${JSON.stringify(subject.slice(0, 300))}: ${reason}`, options);
    this.subject = subject;
  }
}

/** An argument other than a subject is invalid (headers, ids, options). Nothing was sent. */
export class InvalidArgumentError extends OmnibusError {
  constructor(message: string, options?: OmnibusErrorOptions) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/** A payload exceeds the bus's `maxPayloadBytes`. Nothing was sent. */
export class PayloadTooLargeError extends OmnibusError {
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number, options?: OmnibusErrorOptions) {
    super('PAYLOAD_TOO_LARGE', `payload of ${size} bytes exceeds the limit of ${limit} bytes`, {
      ...options,
      hint:
        options?.hint ??
        "store the data elsewhere (an object store, a database) and publish a reference to it, or raise maxPayloadBytes (within the broker's own limit)",
    });
    this.size = size;
    this.limit = limit;
  }
}

/** The bus (or the subscription) is closed or closing; the call did nothing. */
export class BusClosedError extends OmnibusError {
  constructor(options?: OmnibusErrorOptions) {
    super('BUS_CLOSED', 'the bus is closed', options);
  }
}

/** The backend cannot be reached, or the connection was lost. */
export class ConnectionError extends OmnibusError {
  constructor(message: string, options?: OmnibusErrorOptions) {
    super('CONNECTION', message, options);
  }
}

/** Configuration is invalid, or asks for something the backend cannot do. */
export class ConfigError extends OmnibusError {
  /** Dotted path of the offending configuration field, e.g. `url` or `require.replay`. */
  readonly field: string;
  constructor(field: string, message: string, options?: OmnibusErrorOptions) {
    super('CONFIG', `${field}: ${message}`, options);
    this.field = field;
  }
}

/** Options of `AdapterNotInstalledError`. */
export interface AdapterNotInstalledErrorOptions extends Omit<OmnibusErrorOptions, 'backend'> {
  /**
   * The command that installs the package, e.g. `pnpm add @omnibus/nats` (the
   * factory picks it from the package manager that runs the process). Default:
   * `npm install <package>`.
   */
  installCommand?: string;
  /** What to do, when there is more to say than the command. Default: `install it: <installCommand>`. */
  hint?: string;
}

/** The adapter package for the configured backend (or a client library it needs) is not installed. */
export class AdapterNotInstalledError extends OmnibusError {
  /** The npm package to add, e.g. `@omnibus/nats`. */
  readonly packageName: string;
  /** The command that installs it, e.g. `pnpm add @omnibus/nats`. */
  readonly installCommand: string;
  constructor(backend: string, packageName: string, options: AdapterNotInstalledErrorOptions = {}) {
    const { installCommand = `npm install ${packageName}`, hint, ...rest } = options;
    super(
      'ADAPTER_NOT_INSTALLED',
      `the ${backend} backend needs the package ${packageName}, which is not installed`,
      {
        ...rest,
        backend,
        hint: hint ?? `install it: ${installCommand}`,
      },
    );
    this.packageName = packageName;
    this.installCommand = installCommand;
  }
}

/**
 * The backend did not accept a publish. For a `publishBatch` that failed part-way,
 * `accepted` and `maybeStored` say exactly which entries to publish again (see
 * docs/contract.md, "publishBatch").
 */
export class PublishError extends OmnibusError {
  /**
   * `publishBatch` only: the receipts of entries `0 … accepted.length - 1`, in
   * order, each acknowledged by the backend — the longest prefix of the batch
   * known to be stored. Entry `accepted.length` is the first one that was not
   * (it failed, or its outcome is unknown). Empty for `publish`.
   */
  readonly accepted: readonly unknown[];
  /**
   * `publishBatch` only: the indexes (ascending, each `>= accepted.length`) of
   * the entries that may have been stored although the batch failed — entries
   * the backend acknowledged after an earlier one failed, and entries whose
   * outcome is unknown (no answer in time, connection lost). Every other entry
   * from `accepted.length` on was **not** stored. Publishing a maybe-stored entry
   * again with the same `id` is deduplicated where `capabilities.dedupe` holds;
   * elsewhere it may be stored twice. Empty for `publish`.
   */
  readonly maybeStored: readonly number[];
  constructor(
    message: string,
    options?: OmnibusErrorOptions & { accepted?: readonly unknown[]; maybeStored?: readonly number[] },
  ) {
    super('PUBLISH_FAILED', message, options);
    this.accepted = options?.accepted ?? [];
    this.maybeStored = options?.maybeStored ?? [];
  }
}

/** A bounded buffer stayed full for longer than allowed; the message was not enqueued anywhere. */
export class BackpressureError extends OmnibusError {
  constructor(message: string, options?: OmnibusErrorOptions) {
    super('BACKPRESSURE', message, options);
  }
}

/** One issue reported by a Standard Schema validator. */
export interface ValidationIssue {
  message: string;
  path?: readonly (string | number | symbol)[];
}

/** A typed event failed its schema. Nothing was sent (publish) or the message was dead-lettered (consume). */
export class ValidationError extends OmnibusError {
  readonly issues: readonly ValidationIssue[];
  constructor(subject: string, issues: readonly ValidationIssue[], options?: OmnibusErrorOptions) {
    super('VALIDATION', `event "${subject}" failed validation: ${formatIssues(issues)}`, options);
    this.issues = issues;
  }
}

/** An operation did not finish in the allowed time. */
export class TimeoutError extends OmnibusError {
  constructor(message: string, options?: OmnibusErrorOptions) {
    super('TIMEOUT', message, options);
  }
}

/** An operation was cancelled by its AbortSignal. */
export class AbortedError extends OmnibusError {
  constructor(message = 'the operation was aborted', options?: OmnibusErrorOptions) {
    super('ABORTED', message, options);
  }
}

/** Renders schema issues as `path: message; …` (used in errors and dead-letter headers). */
export function formatIssues(issues: readonly ValidationIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path
        ?.map((p) => (typeof p === 'object' && p !== null ? String((p as { key: unknown }).key) : String(p)))
        .join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** `instanceof` targets for every Omnibus error class, keyed by name. */
export const errors = {
  OmnibusError,
  InvalidSubjectError,
  InvalidArgumentError,
  PayloadTooLargeError,
  BusClosedError,
  ConnectionError,
  ConfigError,
  AdapterNotInstalledError,
  PublishError,
  BackpressureError,
  ValidationError,
  TimeoutError,
  AbortedError,
} as const;

/** True when `value` is an Omnibus error (optionally with the given code). */
export function isOmnibusError(value: unknown, code?: OmnibusErrorCode): value is OmnibusError {
  return value instanceof OmnibusError && (code === undefined || value.code === code);
}
