/**
 * Adds the harness matchers to jest's `expect` from `@jest/globals` (and their types): import it
 * once, in a test file or in `setupFilesAfterEnv`.
 *
 * ```ts
 * import '@omnibus/harness/jest';
 * expect(harness).toHavePublished(OrderPlaced, { orderId: 'o-1' });
 * ```
 */
import { expect } from '@jest/globals';
import { type HarnessMatchers, harnessMatchers } from './matchers.js';

expect.extend(harnessMatchers);

declare module 'expect' {
  // biome-ignore lint/correctness/noUnusedVariables: the type parameters must match expect's declaration
  interface Matchers<R extends void | Promise<void>, T = unknown> extends HarnessMatchers<R> {}
}

export { harnessMatchers };
