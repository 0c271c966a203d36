import { InvalidSubjectError } from './errors.js';

/** Longest subject or pattern accepted, in UTF-16 code units. */
export const MAX_SUBJECT_LENGTH = 255;

/** What is wrong with character `c` inside a token, if anything. */
function charProblem(c: number): string | undefined {
  // control characters, space and DEL count as white space; '*' and '>' are wildcards
  if (c <= 0x20 || c === 0x7f || c === 0x85 || c === 0xa0 || c === 0x2028 || c === 0x2029) {
    return 'white space or control character';
  }
  if (c === 0x2a || c === 0x3e) return 'wildcard "*" or ">" inside a token';
  return undefined;
}

function tokenProblem(token: string): string | undefined {
  if (token.length === 0) return 'empty token';
  for (let i = 0; i < token.length; i++) {
    const p = charProblem(token.charCodeAt(i));
    if (p) return p;
  }
  return undefined;
}

function commonProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'not a string';
  if (value.length === 0) return 'empty';
  if (value.length > MAX_SUBJECT_LENGTH) return `longer than ${MAX_SUBJECT_LENGTH} characters`;
  const first = value[0];
  if (first === '$' || first === '_') return 'subjects starting with "$" or "_" are reserved';
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
      if (tokenLength === 0) return 'empty token';
      tokenLength = 0;
      continue;
    }
    const p = charProblem(c);
    if (p) return p;
    tokenLength++;
  }
  return tokenLength === 0 ? 'empty token' : undefined;
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
      if (i !== tokens.length - 1) return '">" must be the last token';
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

/** Throws `InvalidSubjectError` unless `subject` is a valid concrete subject. */
export function assertSubject(subject: unknown, backend?: string): asserts subject is string {
  if (knownValid.has(subject as string)) return;
  const problem = subjectProblem(subject);
  if (problem) throw new InvalidSubjectError(String(subject), problem, { backend });
  if (knownValid.size >= KNOWN_VALID_MAX) knownValid.clear();
  knownValid.add(subject as string);
}

/** Throws `InvalidSubjectError` unless `pattern` is a valid subscription pattern. */
export function assertPattern(pattern: unknown, backend?: string): asserts pattern is string {
  const problem = patternProblem(pattern);
  if (problem) throw new InvalidSubjectError(String(pattern), problem, { backend });
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
