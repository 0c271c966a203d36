/**
 * Adds the harness matchers to vitest's `expect` (and their types): import it once, in a test
 * file or in `setupFiles`.
 *
 * ```ts
 * import '@omnibus/harness/vitest';
 * expect(harness).toHavePublished(OrderPlaced, { orderId: 'o-1' });
 * ```
 */
import { expect } from 'vitest';
import { type HarnessMatchers, harnessMatchers } from './matchers.js';

expect.extend(harnessMatchers);

declare module 'vitest' {
  // biome-ignore lint/correctness/noUnusedVariables lint/suspicious/noExplicitAny: the type parameter must match vitest's declaration
  interface Matchers<T = any> extends HarnessMatchers<void> {}
}

export { harnessMatchers };
