import { describe, expect, it } from 'vitest';
import { InvalidSubjectError } from '../src/errors.js';
import { formatError } from '../src/format-error.js';
import {
  assertPattern,
  assertSubject,
  isValidPattern,
  isValidSubject,
  subjectMatches,
} from '../src/subject.js';
import { SubjectIndex } from '../src/subject-index.js';

describe('subject grammar', () => {
  it.each([
    'orders',
    'orders.eu.created',
    'a.b-c.d_e',
    'ü.日本',
    'x'.repeat(255),
  ])('accepts subject %s', (s) => {
    expect(isValidSubject(s)).toBe(true);
  });

  it.each([
    ['', 'empty'],
    ['orders..created', 'empty token'],
    ['.orders', 'empty token'],
    ['orders.', 'empty token'],
    ['orders.*', 'wildcard'],
    ['orders.>', 'wildcard'],
    ['or*ders', 'wildcard'],
    ['orders created', 'white space'],
    ['orders.\tx', 'white space'],
    ['orders.\u0000', 'control'],
    ['$SYS.x', 'reserved'],
    ['_INBOX.x', 'reserved'],
    ['x'.repeat(256), 'longer than 255'],
  ])('rejects subject %j (%s)', (s, reason) => {
    expect(isValidSubject(s)).toBe(false);
    expect(() => assertSubject(s)).toThrow(InvalidSubjectError);
    expect(() => assertSubject(s)).toThrow(reason);
  });

  it('rejects non-strings with a typed error', () => {
    expect(() => assertSubject(42)).toThrow(InvalidSubjectError);
    expect(() => assertPattern(undefined)).toThrow(InvalidSubjectError);
  });

  it.each(['orders.*', 'orders.>', '*', '>', '*.*.created', 'orders.*.>'])('accepts pattern %s', (p) => {
    expect(isValidPattern(p)).toBe(true);
  });

  it.each(['orders.>.created', '>.x', 'or*', 'a.b>', '', 'a..b', '$SYS.>'])('rejects pattern %j', (p) => {
    expect(isValidPattern(p)).toBe(false);
    expect(() => assertPattern(p)).toThrow(InvalidSubjectError);
  });

  it('carries a stable code', () => {
    try {
      assertSubject('a.*');
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidSubjectError).code).toBe('INVALID_SUBJECT');
      expect((error as InvalidSubjectError).subject).toBe('a.*');
    }
  });
});

describe('subject errors say what to do', () => {
  function thrown(check: () => void): InvalidSubjectError {
    try {
      check();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidSubjectError);
      return error as InvalidSubjectError;
    }
    throw new Error('nothing was thrown');
  }

  it('a wildcard token in a publish subject: publish subjects cannot contain wildcards; subscribe patterns can', () => {
    const error = thrown(() => assertSubject('orders.*.created'));
    expect(error.message).toContain(
      'publish subjects cannot contain wildcards ("*" is one); subscribe patterns can',
    );
    expect(error.message).not.toContain('inside a token');
    expect(error.hint).toContain('publish to a concrete subject, e.g. "orders.eu.created"');
    expect(error.hint).toContain('subscribe with "orders.*.created"');
    expect(thrown(() => assertSubject('orders.>')).message).toContain('(">" is one)');
    expect(thrown(() => assertSubject('*')).message).toContain('publish subjects cannot contain wildcards');
    // a subject that is no valid pattern either is not offered as one
    expect(thrown(() => assertSubject('orders.>.x')).hint).not.toContain('subscribe with');
  });

  it.each([
    'a*b',
    'orders.*x',
    'orders.x>',
  ])('a wildcard inside a token (%s) is still called that', (subject) => {
    const error = thrown(() => assertSubject(subject));
    expect(error.message).toContain('wildcard "*" or ">" inside a token');
    expect(error.hint).toContain('not allowed in subjects');
  });

  it.each([
    '',
    'orders..created',
    'orders.*',
    'a*b',
    'orders created',
    '$SYS.x',
    'x'.repeat(256),
    42,
  ])('every invalid subject (%j) has a hint', (subject) => {
    const error = thrown(() => assertSubject(subject));
    expect(error.hint).toBeTruthy();
    expect(formatError(error)).toMatch(/\(hint: .+\)$/);
    expect(formatError(error)).not.toContain('undefined');
  });

  it.each([
    'orders.>.created',
    'or*',
    '',
    'a..b',
    '$SYS.>',
    'a b',
    null,
  ])('every invalid pattern (%j) has a hint', (pattern) => {
    const error = thrown(() => assertPattern(pattern));
    expect(error.hint).toBeTruthy();
    expect(formatError(error)).toMatch(/\(hint: .+\)$/);
    expect(formatError(error)).not.toContain('undefined');
  });

  it('">" in the middle of a pattern says where it goes', () => {
    expect(thrown(() => assertPattern('orders.>.created')).hint).toContain('comes last ("orders.>")');
  });
});

const table: [string, string, boolean][] = [
  ['orders.*.created', 'orders.eu.created', true],
  ['orders.*.created', 'orders.eu.x.created', false],
  ['orders.*.created', 'orders.created', false],
  ['orders.>', 'orders.eu', true],
  ['orders.>', 'orders.eu.x.created', true],
  ['orders.>', 'orders', false],
  ['orders', 'orders', true],
  ['orders', 'orders.eu', false],
  ['*', 'orders', true],
  ['*', 'orders.eu', false],
  ['>', 'a.b.c', true],
  ['*.>', 'a', false],
  ['*.>', 'a.b', true],
  ['a.*.*', 'a.b.c', true],
  ['a.*.*', 'a.b', false],
];

describe('matching', () => {
  it.each(table)('%s ~ %s = %s', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
    const index = new SubjectIndex<string>();
    index.add(pattern, 'v');
    expect(index.match(subject)).toEqual(expected ? ['v'] : []);
  });

  it('indexes many patterns and agrees with subjectMatches for every pair', () => {
    const patterns = [...new Set(table.map(([p]) => p))];
    const subjects = [...new Set(table.map(([, s]) => s)), 'orders.us.created', 'z'];
    const index = new SubjectIndex<string>();
    for (const p of patterns) index.add(p, p);
    for (const s of subjects) {
      const expected = patterns.filter((p) => subjectMatches(p, s)).sort();
      expect([...index.match(s)].sort()).toEqual(expected);
    }
  });

  it('invalidates its cache when patterns change, including for subjects seen before', () => {
    const index = new SubjectIndex<number>();
    index.add('a.*', 1);
    expect(index.match('a.b')).toEqual([1]);
    index.add('a.>', 2);
    expect([...index.match('a.b')].sort()).toEqual([1, 2]);
    index.remove('a.*', 1);
    expect(index.match('a.b')).toEqual([2]);
    index.remove('a.>', 2);
    expect(index.match('a.b')).toEqual([]);
    expect(index.size).toBe(0);
  });

  it('returns each value once even when several of its patterns match', () => {
    const index = new SubjectIndex<string>();
    index.add('a.*', 'x');
    index.add('a.>', 'x');
    expect(index.match('a.b')).toEqual(['x']);
  });

  it('keeps the cache bounded', () => {
    const index = new SubjectIndex<string>(4);
    index.add('>', 'all');
    for (let i = 0; i < 100; i++) expect(index.match(`s.${i}`)).toEqual(['all']);
  });
});
