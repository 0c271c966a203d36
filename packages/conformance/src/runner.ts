/** A test body or hook: synchronous or async. */
export type TestFn = () => unknown;

/** A class, for `toBeInstanceOf`. */
export type ErrorClass = abstract new (...args: never[]) => unknown;

/**
 * The matchers the conformance tests use: a subset of what the `expect` of vitest, jest and
 * bun:test returns, with their meaning (`toBe` is `Object.is`, `toEqual` a deep equality that
 * ignores `undefined` properties, `toMatchObject` a deep subset).
 */
export interface Assertion {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toMatchObject(expected: object): void;
  /** An array holding `item` (`===`), or a string holding the substring `item`. */
  toContain(item: unknown): void;
  toHaveLength(length: number): void;
  toBeUndefined(): void;
  toBeInstanceOf(type: ErrorClass): void;
  toBeGreaterThan(n: number): void;
  toBeGreaterThanOrEqual(n: number): void;
  toBeLessThan(n: number): void;
  toBeLessThanOrEqual(n: number): void;
  /** The same matchers on the reason of a promise that must reject. */
  readonly rejects: {
    toBeInstanceOf(type: ErrorClass): Promise<unknown>;
    /** The rejection's message holds `expected` (a string) or matches it (a RegExp). */
    toThrow(expected?: string | RegExp): Promise<unknown>;
  };
}

/** `expect(actual)`, as vitest, jest and bun:test export it. */
export type Expect = (actual: unknown) => Assertion;

/**
 * The test runner the kit registers its tests with: the jest-style functions vitest, jest and
 * bun:test export (`import { describe, it, beforeEach, afterEach, afterAll, expect } from 'vitest'`).
 * For another runner, pass functions that do the same — node:test's `describe`, `it` (with
 * `{ timeout }`), `beforeEach`, `afterEach`, `after`, and an `expect` with the matchers of
 * {@link Assertion}.
 */
export interface TestRunner {
  /** Groups tests; `fn` registers them synchronously. */
  describe(name: string, fn: () => void): void;
  /** One test; fails when `fn` throws or rejects, or runs longer than `timeoutMs`. */
  it(name: string, fn: TestFn, timeoutMs?: number): void;
  /** Runs before each test of the enclosing `describe`. */
  beforeEach(fn: TestFn): void;
  /** Runs after each test of the enclosing `describe`, passed or failed. */
  afterEach(fn: TestFn): void;
  /** Runs once after the tests of the enclosing `describe` (node:test calls it `after`). */
  afterAll(fn: TestFn): void;
  /** Assertions, see {@link Assertion}. */
  expect: Expect;
}
