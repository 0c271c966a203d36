import { resolveBackoff } from './backoff.js';
import { defaultDeadLetterSubject } from './dead-letter.js';
import type { DriverStartPosition } from './driver.js';
import { ConfigError, InvalidArgumentError, PayloadTooLargeError } from './errors.js';
import { assertSubject } from './subject.js';
import type {
  Capabilities,
  DeliveryLevel,
  Headers,
  Payload,
  StartPosition,
  SubscribeOptions,
} from './types.js';

const encoder = new TextEncoder();
const MAX_ID_LENGTH = 256;
const GROUP_NAME = /^[A-Za-z0-9_-]{1,128}$/;

/** Default payload limit: 1 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** Encodes a payload (UTF-8 for strings) and enforces the size limit. */
export function encodePayload(payload: Payload, limit: number, backend?: string): Uint8Array {
  let bytes: Uint8Array;
  if (typeof payload === 'string') bytes = encoder.encode(payload);
  else if (payload instanceof Uint8Array) bytes = payload;
  else
    throw new InvalidArgumentError('payload must be a Uint8Array or a string', {
      backend,
      hint: 'encode it first, e.g. JSON.stringify(value); defineEvent(subject, schema) publishes typed JSON for you',
    });
  if (bytes.byteLength > limit) throw new PayloadTooLargeError(bytes.byteLength, limit, { backend });
  return bytes;
}

const HEADER_NAME_HINT = 'use printable ASCII without spaces or ":", e.g. "x-tenant"';
const ID_HINT =
  'use an id that names the message, e.g. an order number or crypto.randomUUID(), without spaces; leave `id` out for a generated one';

function isHeaderNameChar(c: number): boolean {
  // printable ASCII except space and ':' (portable across NATS, Redis and Kafka headers)
  return c > 0x20 && c < 0x7f && c !== 0x3a;
}

/** Validates headers and returns a plain copy. Names: printable ASCII without ':'; values: no CR/LF. */
export function normalizeHeaders(headers: Headers | undefined, backend?: string): Headers {
  const out: Headers = {};
  if (headers === undefined) return out;
  if (typeof headers !== 'object' || headers === null) {
    throw new InvalidArgumentError('headers must be an object of string values', {
      backend,
      hint: 'e.g. { headers: { "x-tenant": "acme" } }',
    });
  }
  for (const [name, value] of Object.entries(headers)) {
    assertHeader(name, value, backend);
    out[name] = value;
  }
  return out;
}

/** Validates one header as `normalizeHeaders` does (an interceptor's `setHeader`). */
export function assertHeader(name: unknown, value: unknown, backend?: string): asserts value is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256)
    throw new InvalidArgumentError(`header name must be a string of 1–256 characters`, {
      backend,
      hint: HEADER_NAME_HINT,
    });
  for (let i = 0; i < name.length; i++) {
    if (!isHeaderNameChar(name.charCodeAt(i))) {
      throw new InvalidArgumentError(
        `header name ${JSON.stringify(name)} has a character outside printable ASCII or ':'`,
        { backend, hint: HEADER_NAME_HINT },
      );
    }
  }
  if (name === '__proto__')
    // a plain object cannot hold it as a header: assigning it sets the object's prototype instead
    throw new InvalidArgumentError('header name "__proto__" cannot be used: JavaScript objects reserve it', {
      backend,
      hint: 'choose another name, e.g. "x-proto"',
    });
  if (typeof value !== 'string')
    throw new InvalidArgumentError(`header ${JSON.stringify(name)} must be a string`, {
      backend,
      hint: 'convert the value: String(value), or JSON.stringify(value) for an object',
    });
  if (value.includes('\r') || value.includes('\n')) {
    throw new InvalidArgumentError(`header ${JSON.stringify(name)} must not contain CR or LF`, {
      backend,
      hint: 'encode the value on one line, e.g. encodeURIComponent(value)',
    });
  }
}

/** Validates a publisher-chosen id. */
export function assertMessageId(id: unknown, backend?: string): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw new InvalidArgumentError(`message id must be a string of 1–${MAX_ID_LENGTH} characters`, {
      backend,
      hint: ID_HINT,
    });
  }
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f)
      throw new InvalidArgumentError('message id must not contain white space or control characters', {
        backend,
        hint: ID_HINT,
      });
  }
}

/** Options after validation and defaults. */
export interface ResolvedSubscribeOptions {
  group: string | undefined;
  from: DriverStartPosition;
  ack: 'auto' | 'manual';
  maxInFlight: number;
  maxAttempts: number;
  backoff: (attempt: number) => number;
  deadLetter: (subject: string) => string;
  ackTimeoutMs: number;
  signal: AbortSignal | undefined;
  /** `delivery: 'at-most-once'`: no acks, no redelivery, no dead letters; the oldest waiting are skipped. */
  atMostOnce: boolean;
}

function positiveInt(field: string, value: unknown, fallback: number, max: number, backend?: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new ConfigError(field, `must be an integer from 1 to ${max}`, { backend });
  }
  return value;
}

function normalizeFrom(from: StartPosition | undefined, backend?: string): DriverStartPosition {
  if (from === undefined || from === 'new') return 'new';
  if (from === 'earliest') return 'earliest';
  if (typeof from === 'object' && from !== null && 'time' in from) {
    const t = from.time instanceof Date ? from.time.getTime() : from.time;
    if (typeof t === 'number' && Number.isFinite(t)) return { time: t };
  }
  throw new ConfigError('from', `must be 'new', 'earliest' or { time: Date | number }`, {
    backend,
    hint: "e.g. from: 'earliest', or from: { time: Date.now() - 60_000 } for the last minute",
  });
}

/** What to do when a backend lacks a capability and its driver does not say (see `BusDriver.capabilityHints`). */
const CAPABILITY_HINTS = {
  replay:
    "leave out `from` (a subscription starts at 'new'), or use a backend that keeps history (docs/capabilities.md)",
  groups: 'leave out `group`, or use a backend with consumer groups (docs/capabilities.md)',
} as const;

/**
 * Validates subscribe options against the backend's capabilities and fills defaults. `hints`
 * (the driver's `capabilityHints`) say how to get a capability the backend lacks.
 */
export function resolveSubscribeOptions(
  options: SubscribeOptions,
  capabilities: Readonly<Capabilities>,
  backend?: string,
  hints: Readonly<Partial<Record<'replay' | 'groups', string>>> = {},
  defaultDelivery: DeliveryLevel = 'at-least-once',
): ResolvedSubscribeOptions {
  const { group } = options;
  const level = resolveDelivery(
    options.delivery === undefined ? defaultDelivery : options.delivery,
    capabilities,
    backend,
  );
  const atMostOnce = level === 'at-most-once';
  if (atMostOnce) refuseAtLeastOnceOptions(options, capabilities, backend, options.delivery === undefined);
  if (group !== undefined) {
    if (typeof group !== 'string' || !GROUP_NAME.test(group)) {
      throw new ConfigError('group', 'must be 1–128 characters of A–Z, a–z, 0–9, "_" or "-"', { backend });
    }
    if (!capabilities.groups)
      throw new ConfigError('group', `backend ${backend} does not support groups`, {
        backend,
        hint: hints.groups ?? CAPABILITY_HINTS.groups,
      });
  }
  const from = normalizeFrom(options.from, backend);
  if (from !== 'new' && !capabilities.replay) {
    throw new ConfigError('from', `backend ${backend} does not retain history, so only 'new' is possible`, {
      backend,
      hint: hints.replay ?? CAPABILITY_HINTS.replay,
    });
  }
  const ack = options.ack ?? 'auto';
  if (ack !== 'auto' && ack !== 'manual')
    throw new ConfigError('ack', `must be 'auto' or 'manual'`, { backend });
  let deadLetter = defaultDeadLetterSubject;
  if (typeof options.deadLetter === 'string') {
    const fixed = options.deadLetter;
    assertSubject(fixed, backend);
    deadLetter = () => fixed;
  } else if (typeof options.deadLetter === 'function') {
    deadLetter = options.deadLetter;
  } else if (options.deadLetter !== undefined) {
    throw new ConfigError('deadLetter', 'must be a subject or a function of the subject', { backend });
  }
  let backoff: (attempt: number) => number;
  try {
    backoff = resolveBackoff(options.backoff);
  } catch (cause) {
    throw new ConfigError(
      'backoff',
      'must be a non-negative number, a non-empty array of them, or a function',
      { backend, cause },
    );
  }
  return {
    group,
    from,
    ack,
    maxInFlight: positiveInt('maxInFlight', options.maxInFlight, 100, 100_000, backend),
    maxAttempts: positiveInt('maxAttempts', options.maxAttempts, 5, 1_000_000, backend),
    backoff,
    deadLetter,
    // at most once nothing is redelivered: no ack deadline
    ackTimeoutMs: atMostOnce
      ? Number.POSITIVE_INFINITY
      : positiveInt('ackTimeoutMs', options.ackTimeoutMs, 30_000, 86_400_000, backend),
    signal: options.signal,
    atMostOnce,
  };
}

/**
 * `delivery` checked: `at-least-once` (default) or `at-most-once`, the latter only where the
 * backend has the fast path (`capabilities.atMostOnce`).
 *
 * @throws ConfigError otherwise.
 */
export function resolveDelivery(
  delivery: unknown,
  capabilities: Readonly<Capabilities>,
  backend?: string,
): DeliveryLevel {
  if (delivery === undefined || delivery === 'at-least-once') return 'at-least-once';
  if (delivery !== 'at-most-once')
    throw new ConfigError('delivery', `must be 'at-least-once' or 'at-most-once'`, { backend });
  if (!capabilities.atMostOnce)
    throw new ConfigError('delivery', `backend ${backend} has no at-most-once path`, {
      backend,
      hint: 'use at-least-once here (the default), or a backend with capabilities.atMostOnce (see docs/capabilities.md)',
    });
  return 'at-most-once';
}

/**
 * An adapter's `delivery` option (its URL's `?delivery=`) checked before it connects: undefined,
 * `'at-least-once'` or `'at-most-once'`. Whether the backend has the level is `createBus`'s check.
 *
 * @throws ConfigError (field `delivery`) for anything else.
 */
export function deliveryOption(delivery: unknown, backend?: string): DeliveryLevel | undefined {
  if (delivery === undefined || delivery === 'at-least-once' || delivery === 'at-most-once') return delivery;
  throw new ConfigError('delivery', `must be 'at-least-once' or 'at-most-once'`, {
    backend,
    hint: "the bus's default level; each publish and subscription may choose its own",
  });
}

/** What at-least-once alone offers, asked of an at-most-once subscription: a ConfigError naming it. */
function refuseAtLeastOnceOptions(
  options: SubscribeOptions,
  capabilities: Readonly<Capabilities>,
  backend: string | undefined,
  byDefault: boolean,
): void {
  const refuse = (field: string, why: string) => {
    throw new ConfigError(field, `is not available at most once: ${why}`, {
      backend,
      hint: byDefault
        ? "the bus delivers at most once by default (its delivery option): subscribe with delivery: 'at-least-once' for this, or leave it out"
        : "leave it out, or subscribe with delivery: 'at-least-once'",
    });
  };
  if (options.ack === 'manual') refuse('ack', 'there is nothing to acknowledge');
  for (const field of ['maxAttempts', 'backoff', 'deadLetter', 'ackTimeoutMs'] as const)
    if (options[field] !== undefined) refuse(field, 'nothing is redelivered or dead-lettered');
  if (options.from !== undefined && options.from !== 'new')
    refuse('from', 'the fast path keeps no history: only new messages');
  if (options.group !== undefined && !capabilities.atMostOnce?.groups)
    refuse('group', `backend ${backend} cannot share at-most-once traffic in a group`);
}
