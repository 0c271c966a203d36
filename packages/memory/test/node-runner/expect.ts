// The matchers of @omnibus/conformance's `Assertion` on node:assert, for node:test, which has no
// `expect`: the meaning of vitest's (toEqual ignores undefined properties; toMatchObject is a subset).
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import type { Assertion, ErrorClass, Expect } from '@omnibus/conformance';

const show = (value: unknown) => inspect(value, { depth: 6, breakLength: 120 });

/** Deep equality; with `subset`, `actual` may have more properties than `expected`. */
function equal(actual: unknown, expected: unknown, subset: boolean): boolean {
  if (Object.is(actual, expected)) return true;
  if (typeof actual !== 'object' || typeof expected !== 'object' || actual === null || expected === null)
    return false;
  const listy = (v: object) => Array.isArray(v) || ArrayBuffer.isView(v);
  if (listy(actual) || listy(expected)) {
    if (!listy(actual) || !listy(expected)) return false;
    const a = Array.from(actual as ArrayLike<unknown>);
    const e = Array.from(expected as ArrayLike<unknown>);
    return a.length === e.length && a.every((v, i) => equal(v, e[i], subset));
  }
  const defined = (v: object) =>
    Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined);
  const keys = defined(expected);
  if (!subset && defined(actual).length !== keys.length) return false;
  return keys.every((k) =>
    equal((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], subset),
  );
}

async function rejection(promise: unknown): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return assert.fail('expected the promise to reject; it resolved');
}

/** `expect(actual)` with the matchers the conformance kit uses. */
export const expect: Expect = (actual: unknown): Assertion => ({
  toBe: (expected) =>
    assert.ok(Object.is(actual, expected), `expected ${show(actual)} to be ${show(expected)}`),
  toEqual: (expected) =>
    assert.ok(equal(actual, expected, false), `expected ${show(actual)} to equal ${show(expected)}`),
  toMatchObject: (expected) =>
    assert.ok(equal(actual, expected, true), `expected ${show(actual)} to match ${show(expected)}`),
  toContain: (item) =>
    assert.ok(
      typeof actual === 'string' ? actual.includes(String(item)) : (actual as unknown[]).includes(item),
      `expected ${show(actual)} to contain ${show(item)}`,
    ),
  toHaveLength: (length) => assert.equal((actual as { length: number }).length, length),
  toBeUndefined: () => assert.equal(actual, undefined),
  toBeInstanceOf: (type: ErrorClass) =>
    assert.ok(actual instanceof type, `expected ${show(actual)} to be an instance of ${type.name}`),
  toBeGreaterThan: (n) => assert.ok((actual as number) > n, `expected ${show(actual)} > ${n}`),
  toBeGreaterThanOrEqual: (n) => assert.ok((actual as number) >= n, `expected ${show(actual)} >= ${n}`),
  toBeLessThan: (n) => assert.ok((actual as number) < n, `expected ${show(actual)} < ${n}`),
  toBeLessThanOrEqual: (n) => assert.ok((actual as number) <= n, `expected ${show(actual)} <= ${n}`),
  rejects: {
    async toBeInstanceOf(type: ErrorClass) {
      const reason = await rejection(actual);
      assert.ok(reason instanceof type, `expected a rejection with ${type.name}, got ${show(reason)}`);
    },
    async toThrow(expected?: string | RegExp) {
      const reason = await rejection(actual);
      const message = (reason as Error | undefined)?.message ?? String(reason);
      if (expected === undefined) return;
      const matched = typeof expected === 'string' ? message.includes(expected) : expected.test(message);
      assert.ok(matched, `expected a rejection matching ${show(expected)}, got "${message}"`);
    },
  },
});
