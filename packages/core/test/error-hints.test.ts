// Errors a person reads say what to do (a hint) where Omnibus knows, and never print "undefined"
// for what they do not know (`console.log(error)` used to show `backend: undefined, hint: undefined`).
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  AdapterNotInstalledError,
  assertPattern,
  assertSubject,
  BackpressureError,
  BusClosedError,
  ConfigError,
  ConnectionError,
  defineEvent,
  encodePayload,
  formatError,
  InvalidArgumentError,
  normalizeHeaders,
  OmnibusError,
  PayloadTooLargeError,
  PublishError,
  TimeoutError,
  ValidationError,
} from '../src/index.js';
import { assertMessageId, resolveSubscribeOptions } from '../src/validate.js';

const NO_REPLAY = {
  durable: false,
  replay: false,
  groups: false,
  dedupe: false,
  delayedNak: false,
  ordering: 'subject',
  groupBalance: 'message',
  wildcards: 'native',
  maxPayloadBytes: 10,
} as const;

function thrown(act: () => unknown): OmnibusError {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(OmnibusError);
    return error as OmnibusError;
  }
  throw new Error('nothing was thrown');
}

/** Errors as Omnibus raises them, where the person can act: each must carry a hint. */
const actionable: [string, () => OmnibusError][] = [
  ['publish to a pattern', () => thrown(() => assertSubject('orders.*.created'))],
  ['a wildcard inside a token', () => thrown(() => assertSubject('orders.a*b'))],
  ['">" in the middle of a pattern', () => thrown(() => assertPattern('orders.>.x', 'nats'))],
  ['a payload that is neither bytes nor text', () => thrown(() => encodePayload({} as never, 10))],
  ['a payload over the limit', () => thrown(() => encodePayload('x'.repeat(11), 10, 'memory'))],
  ['headers that are no object', () => thrown(() => normalizeHeaders('x' as never))],
  ['a header name with a space', () => thrown(() => normalizeHeaders({ 'x tenant': 'a' }))],
  ['a header value that is a number', () => thrown(() => normalizeHeaders({ n: 1 as never }))],
  ['a header value with a line break', () => thrown(() => normalizeHeaders({ n: 'a\nb' }))],
  ['an empty message id', () => thrown(() => assertMessageId(''))],
  ['a message id with a space', () => thrown(() => assertMessageId('a b'))],
  ['from: yesterday', () => thrown(() => resolveSubscribeOptions({ from: 'yesterday' as never }, NO_REPLAY))],
  [
    "from: 'earliest' without replay",
    () => thrown(() => resolveSubscribeOptions({ from: 'earliest' }, NO_REPLAY, 'x')),
  ],
  ['a group without groups', () => thrown(() => resolveSubscribeOptions({ group: 'g' }, NO_REPLAY, 'x'))],
  ['defineEvent without a schema', () => thrown(() => defineEvent('orders.placed', {} as never))],
  ['an adapter not installed', () => new AdapterNotInstalledError('nats', '@omnibus/nats')],
];

/** Errors whose message says it all (or that the caller caused on purpose): no hint needed, none shown. */
const plain: [string, OmnibusError][] = [
  ['the bus is closed', new BusClosedError()],
  ['the memory bus is closed', new BusClosedError({ backend: 'memory' })],
  ['aborted', new AbortedError()],
  ['a connection error without a hint', new ConnectionError('cannot connect to 127.0.0.1:1')],
  ['a config error', new ConfigError('url', 'must be a string')],
  ['an invalid argument', new InvalidArgumentError('consume needs a handler function')],
  ['a timeout', new TimeoutError('no answer within 5 ms')],
  ['a publish error with a cause', new PublishError('publish failed', { cause: new Error('boom') })],
  ['backpressure', new BackpressureError('full')],
  ['a validation error', new ValidationError('orders.placed', [{ message: 'Required', path: ['orderId'] }])],
];

describe('errors a person can act on carry a hint', () => {
  it.each(actionable)('%s', (_what, make) => {
    const error = make();
    expect(error.hint).toBeTruthy();
    expect(formatError(error)).toMatch(/ \(hint: .+\)$/);
  });

  it('the hint for a missing capability comes from the driver when it knows better', () => {
    const error = thrown(() =>
      resolveSubscribeOptions({ from: 'earliest' }, NO_REPLAY, 'memory', { replay: 'enable history' }),
    );
    expect(error.hint).toBe('enable history');
  });

  it('a payload over the limit keeps a hint given by the caller', () => {
    expect(new PayloadTooLargeError(2, 1, { hint: 'split it' }).hint).toBe('split it');
    expect(new PayloadTooLargeError(2, 1).hint).toContain('maxPayloadBytes');
  });
});

describe('no error shows "undefined"', () => {
  const all: [string, OmnibusError][] = [
    ...actionable.map(([what, make]) => [what, make()] as [string, OmnibusError]),
    ...plain,
  ];

  it.each(all)('%s: formatError, with and without the stack', (_what, error) => {
    expect(formatError(error)).not.toContain('undefined');
    expect(formatError(error, { stack: true })).not.toContain('undefined');
  });

  it.each(all)('%s: console.log (util.inspect) shows no unknown backend or hint', (_what, error) => {
    expect(inspect(error)).not.toMatch(/\b(hint|backend): undefined/);
  });

  it('a known backend and hint are still shown, and still readable as properties', () => {
    const error = new ConnectionError('x', { backend: 'nats', hint: 'start nats-server' });
    expect(inspect(error)).toContain("hint: 'start nats-server'");
    expect(error.backend).toBe('nats');
    const bare = new BusClosedError();
    expect(bare.backend).toBeUndefined();
    expect(bare.hint).toBeUndefined();
  });
});
