import { preview } from './decode.js';

/**
 * Whether `actual` has everything `expected` has: objects key by key (extra keys in `actual`
 * are fine), arrays element by element with the same length, a `RegExp` tested against a
 * string, anything else by `Object.is`.
 */
export function matchesPartially(actual: unknown, expected: unknown): boolean {
  return differences(actual, expected, '', 1).length === 0;
}

/**
 * Where `actual` differs from `expected` (as `matchesPartially` compares), as lines such as
 * `orderId: expected "o-2", got "o-1"`; at most `limit`.
 */
export function differences(actual: unknown, expected: unknown, path = '', limit = 3): string[] {
  const out: string[] = [];
  walk(actual, expected, path, out, limit);
  return out;
}

function walk(actual: unknown, expected: unknown, path: string, out: string[], limit: number): void {
  if (out.length >= limit) return;
  const at = path === '' ? 'payload' : path;
  if (expected instanceof RegExp) {
    if (typeof actual !== 'string' || !expected.test(actual))
      out.push(`${at}: expected to match ${expected}, got ${preview(actual, 60)}`);
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      out.push(`${at}: expected ${preview(expected, 60)}, got ${preview(actual, 60)}`);
      return;
    }
    for (let i = 0; i < expected.length; i++) walk(actual[i], expected[i], `${path}[${i}]`, out, limit);
    return;
  }
  if (expected !== null && typeof expected === 'object' && !(expected instanceof Uint8Array)) {
    if (actual === null || typeof actual !== 'object') {
      out.push(`${at}: expected an object like ${preview(expected, 60)}, got ${preview(actual, 60)}`);
      return;
    }
    for (const key of Object.keys(expected)) {
      walk(
        (actual as Record<string, unknown>)[key],
        (expected as Record<string, unknown>)[key],
        path === '' ? key : `${path}.${key}`,
        out,
        limit,
      );
    }
    return;
  }
  if (expected instanceof Uint8Array) {
    const same =
      actual instanceof Uint8Array &&
      actual.length === expected.length &&
      actual.every((b, i) => b === expected[i]);
    if (!same) out.push(`${at}: expected ${preview(expected)}, got ${preview(actual, 60)}`);
    return;
  }
  if (!Object.is(actual, expected))
    out.push(`${at}: expected ${preview(expected, 60)}, got ${preview(actual, 60)}`);
}
