import { InvalidSubjectError } from './errors.js';

/** Longest subject or pattern accepted, in UTF-16 code units. */
export const MAX_SUBJECT_LENGTH = 255;

const WHITE_SPACE = 'white space or control character';
const IN_TOKEN = 'wildcard "*" or ">" inside a token';
const EMPTY_TOKEN = 'empty token';
const RESERVED = 'subjects starting with "$" or "_" are reserved';
const LAST_ONLY = '">" must be the last token';
const NOT_A_STRING = 'not a string';
const EMPTY = 'empty';
const TOO_LONG = `longer than ${MAX_SUBJECT_LENGTH} characters`;

/** The problem of a publish subject holding `*` or `>` as a whole token. */
function wildcardInSubject(wildcard: string): string {
  return `publish subjects cannot contain wildcards ("${wildcard}" is one); subscribe patterns can`;
}

/** What is wrong with character `c` inside a token, if anything. */
function charProblem(c: number): string | undefined {
  // control characters, space and DEL count as white space; '*' and '>' are wildcards
  if (c <= 0x20 || c === 0x7f || c === 0x85 || c === 0xa0 || c === 0x2028 || c === 0x2029) {
    return WHITE_SPACE;
  }
  if (c === 0x2a || c === 0x3e) return IN_TOKEN;
  return undefined;
}

function tokenProblem(token: string): string | undefined {
  if (token.length === 0) return EMPTY_TOKEN;
  for (let i = 0; i < token.length; i++) {
    const p = charProblem(token.charCodeAt(i));
    if (p) return p;
  }
  return undefined;
}

function commonProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return NOT_A_STRING;
  if (value.length === 0) return EMPTY;
  if (value.length > MAX_SUBJECT_LENGTH) return TOO_LONG;
  const first = value[0];
  if (first === '$' || first === '_') return RESERVED;
  return undefined;
}

/** Why `subject` is not a valid concrete subject, or `undefined` when it is (one pass, no allocation). */
export function subjectProblem(subject: unknown): string | undefined {
  const problem = commonProblem(subject);
  if (problem) return problem;
  const s = subject as string;
  let tokenLength = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      if (tokenLength === 0) return EMPTY_TOKEN;
      tokenLength = 0;
      continue;
    }
    const p = charProblem(c);
    if (p === IN_TOKEN && tokenLength === 0 && (i + 1 === s.length || s.charCodeAt(i + 1) === 0x2e))
      return wildcardInSubject(s[i] as string); // a whole token: a pattern where a subject belongs
    if (p) return p;
    tokenLength++;
  }
  return tokenLength === 0 ? EMPTY_TOKEN : undefined;
}

/** Why `pattern` is not a valid subscription pattern, or `undefined` when it is. */
export function patternProblem(pattern: unknown): string | undefined {
  const problem = commonProblem(pattern);
  if (problem) return problem;
  const tokens = (pattern as string).split('.');
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (token === '*') continue;
    if (token === '>') {
      if (i !== tokens.length - 1) return LAST_ONLY;
      continue;
    }
    const p = tokenProblem(token);
    if (p) return p;
  }
  return undefined;
}

/** True when `subject` is a valid concrete subject (no wildcards). */
export function isValidSubject(subject: unknown): subject is string {
  return subjectProblem(subject) === undefined;
}

/** True when `pattern` is a valid subscription pattern (wildcards allowed). */
export function isValidPattern(pattern: unknown): pattern is string {
  return patternProblem(pattern) === undefined;
}

/** Subjects that passed `assertSubject` lately: publishers tend to reuse a few. Bounded. */
const knownValid = new Set<string>();
const KNOWN_VALID_MAX = 1_024;

const EXAMPLE = 'e.g. "orders.eu.created"';

/** What to do about `problem` of `value` (a subject, or a pattern when `pattern`). */
function subjectHint(problem: string, value: unknown, pattern: boolean): string {
  switch (problem) {
    case NOT_A_STRING:
    case EMPTY:
      return `pass a string of dot-separated tokens, ${EXAMPLE}`;
    case TOO_LONG:
      return `use fewer or shorter tokens: at most ${MAX_SUBJECT_LENGTH} characters`;
    case RESERVED:
      return 'start with another character: "$" and "_" prefixes belong to the broker (NATS: $SYS, $JS, _INBOX)';
    case EMPTY_TOKEN:
      return 'remove the doubled, leading or trailing "." (every token between dots needs a character)';
    case WHITE_SPACE:
      return 'use "-" or "_" instead of white space; "." separates tokens';
    case IN_TOKEN:
      return pattern
        ? '"*" (one token) and ">" (the rest) are wildcards only as whole tokens, e.g. "orders.*.created", "orders.>"'
        : '"*" and ">" are not allowed in subjects; in subscribe patterns they stand alone as tokens';
    case LAST_ONLY:
      return '">" matches every remaining token, so it comes last ("orders.>"); use "*" for one token in the middle';
    default: {
      // the only other problem: a wildcard token in a publish subject
      const subscribe =
        patternProblem(value) === undefined
          ? `subscribe with ${JSON.stringify(value)} to receive every subject it matches`
          : 'wildcards belong in subscribe patterns';
      return `publish to a concrete subject, ${EXAMPLE}; ${subscribe}`;
    }
  }
}

/** Throws `InvalidSubjectError` (with a hint) unless `subject` is a valid concrete subject. */
export function assertSubject(subject: unknown, backend?: string): asserts subject is string {
  if (knownValid.has(subject as string)) return;
  const problem = subjectProblem(subject);
  if (problem)
    throw new InvalidSubjectError(String(subject), problem, {
      backend,
      hint: subjectHint(problem, subject, false),
    });
  if (knownValid.size >= KNOWN_VALID_MAX) knownValid.clear();
  knownValid.add(subject as string);
}

/** Throws `InvalidSubjectError` (with a hint) unless `pattern` is a valid subscription pattern. */
export function assertPattern(pattern: unknown, backend?: string): asserts pattern is string {
  const problem = patternProblem(pattern);
  if (problem)
    throw new InvalidSubjectError(String(pattern), problem, {
      backend,
      hint: subjectHint(problem, pattern, true),
    });
}

/** True when the pattern contains `*` or `>`. */
export function hasWildcard(pattern: string): boolean {
  return pattern.split('.').some((t) => t === '*' || t === '>');
}

/**
 * Whether a concrete subject matches a pattern: `*` matches exactly one token,
 * `>` one or more trailing tokens. Token comparison only — no RegExp.
 * For many patterns, use `SubjectIndex`, which caches results.
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === '>') return s.length > i;
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return p.length === s.length;
}
