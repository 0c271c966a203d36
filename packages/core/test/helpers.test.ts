import { describe, expect, it } from 'vitest';
import { defaultBackoff, resolveBackoff } from '../src/backoff.js';
import { DLQ_HEADERS, deadLetterHeaders, describeError } from '../src/dead-letter.js';
import {
  ConfigError,
  errors,
  InvalidArgumentError,
  isOmnibusError,
  OmnibusError,
  PayloadTooLargeError,
} from '../src/errors.js';
import { redact } from '../src/redact.js';
import type { Capabilities } from '../src/types.js';
import { encodePayload, normalizeHeaders, resolveSubscribeOptions } from '../src/validate.js';

const caps: Capabilities = {
  durable: false,
  replay: false,
  groups: true,
  dedupe: true,
  delayedNak: true,
  ordering: 'subject',
  groupBalance: 'message',
  wildcards: 'emulated',
  maxPayloadBytes: 10,
};

describe('redaction', () => {
  it('removes URL credentials and secret parameters', () => {
    const text = redact(
      'failed nats://alice:s3cret@host:4222 and redis://:pw@r:6379/0?password=abc&x=1 token=xyz',
    );
    expect(text).not.toMatch(/s3cret|alice|:pw@|abc|xyz/);
    expect(text).toContain('nats://***@host:4222');
    expect(text).toContain('x=1');
  });

  it('applies to every error message', () => {
    const e = new ConfigError('url', 'cannot parse kafka://u:hunter2@h:9092', { backend: 'kafka' });
    expect(e.message).toBe('[omnibus:kafka] url: cannot parse kafka://***@h:9092');
    expect(isOmnibusError(e, 'CONFIG')).toBe(true);
    expect(e).toBeInstanceOf(errors.OmnibusError);
    expect(e.name).toBe('ConfigError');
  });
});

describe('redaction of nkey seeds', () => {
  it('removes a NATS nkey seed, alone or in a .creds file, and leaves public keys alone', () => {
    const seed = 'SUACLJ7SEFFEIYHHHS7NX6LSXN6AYRD4NQTGHKV426ANRCSRCFP7T6PA3A';
    const publicKey = 'UDNIXEALDAU34UW35EGQVLY7AHUKLUPRMUATUSEEJEYORX6JO5SJAS4Y';
    const creds = `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------`;
    expect(redact(`bad seed ${seed} for ${publicKey}`)).toBe(`bad seed S*** for ${publicKey}`);
    expect(redact(creds)).not.toContain(seed);
    expect(redact(JSON.stringify({ creds }))).not.toContain(seed);
    expect(redact(`seed_${seed}`)).not.toContain(seed);
    expect(redact(`%0A${seed}`)).not.toContain(seed);
  });
});

describe('payloads and headers', () => {
  it('encodes strings as UTF-8 and enforces the limit in bytes', () => {
    expect(encodePayload('é', 10)).toEqual(new Uint8Array([0xc3, 0xa9]));
    expect(() => encodePayload('ééééééé', 10)).toThrow(PayloadTooLargeError);
    expect(() => encodePayload(42 as never, 10)).toThrow(OmnibusError);
  });

  it('validates header names and values', () => {
    expect(normalizeHeaders({ 'x-a': 'ü v' })).toEqual({ 'x-a': 'ü v' });
    expect(() => normalizeHeaders({ 'a b': 'x' })).toThrow(/header name/);
    expect(() => normalizeHeaders({ 'a:b': 'x' })).toThrow(/header name/);
    // an own "__proto__" (computed key, JSON.parse) was dropped without a word: refused instead
    const proto = JSON.parse('{"__proto__":"x","y":"z"}');
    expect(() => normalizeHeaders(proto)).toThrow(/"__proto__" cannot be used/);
    expect(() => normalizeHeaders({ ['__proto__']: 'x' })).toThrow(InvalidArgumentError);
    expect(normalizeHeaders({ constructor: 'c', toString: 't' })).toEqual({
      constructor: 'c',
      toString: 't',
    });
    expect(() => normalizeHeaders({ a: 'x\ny' })).toThrow(/CR or LF/);
    expect(() => normalizeHeaders({ a: 1 as never })).toThrow(/string/);
  });
});

describe('options', () => {
  it('fills defaults', () => {
    const o = resolveSubscribeOptions({}, caps, 'memory');
    expect(o).toMatchObject({
      from: 'new',
      ack: 'auto',
      maxInFlight: 100,
      maxAttempts: 5,
      ackTimeoutMs: 30_000,
    });
    expect(o.deadLetter('a.b')).toBe('dlq.a.b');
  });

  it('names the field it rejects', () => {
    const field = (opts: object, c = caps) => {
      try {
        resolveSubscribeOptions(opts, c, 'memory');
      } catch (e) {
        return (e as ConfigError).field;
      }
      return undefined;
    };
    expect(field({ from: 'earliest' })).toBe('from');
    expect(field({ group: 'has.dot' })).toBe('group');
    expect(field({ group: 'g' }, { ...caps, groups: false })).toBe('group');
    expect(field({ maxInFlight: 0 })).toBe('maxInFlight');
    expect(field({ maxAttempts: 1.5 })).toBe('maxAttempts');
    expect(field({ backoff: -1 })).toBe('backoff');
    expect(field({ ack: 'sometimes' })).toBe('ack');
    expect(field({ from: { time: 'yesterday' } })).toBe('from');
  });

  it('resolves every backoff form', () => {
    expect(resolveBackoff(5)(3)).toBe(5);
    expect([1, 2, 3, 4].map(resolveBackoff([10, 20]))).toEqual([10, 20, 20, 20]);
    expect(resolveBackoff((a) => a * 100)(2)).toBe(200);
    expect(resolveBackoff(() => Number.NaN)(1)).toBe(0);
    expect(defaultBackoff(1)).toBe(200);
    expect(defaultBackoff(100)).toBe(30_000);
  });
});

describe('dead-letter headers', () => {
  it('names the error, subject, id, attempts and group without credentials or newlines', () => {
    const h = deadLetterHeaders({
      headers: { keep: 'me' },
      subject: 'orders.eu',
      id: 'm1',
      attempt: 3,
      group: 'billing',
      reason: 'failed after 3 attempts',
      error: new Error('boom\nat redis://u:pw@h'),
    });
    expect(h.keep).toBe('me');
    expect(h[DLQ_HEADERS.subject]).toBe('orders.eu');
    expect(h[DLQ_HEADERS.attempts]).toBe('3');
    expect(h[DLQ_HEADERS.group]).toBe('billing');
    expect(h[DLQ_HEADERS.error]).toBe('Error: boom at redis://***@h');
    expect(describeError('x'.repeat(5000)).length).toBe(1024);
  });
});
