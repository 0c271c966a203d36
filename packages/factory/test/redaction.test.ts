// A password in a mistyped OMNIBUS_URL never reaches an error: message, stack, causes or formatError.
import { formatError } from '@omnibus/core';
import { describe, expect, it } from 'vitest';
import { createEventBusFromEnv } from '../src/index.js';

/** Every text an error carries: message, stack, hint and each cause's, and both formatError renderings. */
function everything(error: unknown): string {
  const parts = [formatError(error), formatError(error, { stack: true })];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    if (current instanceof Error) {
      parts.push(current.message, String(current.stack));
      const hint = (current as { hint?: unknown }).hint;
      if (typeof hint === 'string') parts.push(hint);
      parts.push(JSON.stringify(current, Object.getOwnPropertyNames(current)));
      current = current.cause;
    } else {
      parts.push(String(current));
      current = undefined;
    }
  }
  return parts.join('\n');
}

describe('a password in a mistyped OMNIBUS_URL is never echoed', () => {
  // 127.0.0.1:1: nothing listens, so a URL the adapter accepts fails fast too
  it.each([
    'nats//bob:hunter2@127.0.0.1:4222',
    'nats:/bob:hunter2@127.0.0.1:1',
    '//bob:hunter2@127.0.0.1:4222',
    'redis//bob:hunter2@127.0.0.1:6379',
    'kafka//bob:hunter2@127.0.0.1:9092',
    'nats//bob:hun@ter2@127.0.0.1:4222',
    // a raw "/", "?" or "%" in the password (generated passwords have them)
    'amqp://bob:hunter2/x@127.0.0.1:1',
    'redis://bob:hunter2/x@127.0.0.1:1',
    'nats://bob:hunter2/x@127.0.0.1:1',
    'kafka://bob:hunter2/x@127.0.0.1:1',
    'kafka://bob:hunter2?x@127.0.0.1',
    'nats://bob:hunter2%@127.0.0.1:1',
    'kafka://bob:hunter2%@127.0.0.1:1',
    'bob:hunter2/x@127.0.0.1:4222',
  ])('OMNIBUS_URL=%s', async (url) => {
    const error = await createEventBusFromEnv({ OMNIBUS_URL: url }).then(
      async (bus) => {
        await bus.close();
        throw new Error('expected a rejection');
      },
      (e: unknown) => e,
    );
    // an OmnibusError (from the adapter's own copy of core, hence no instanceof)
    expect(['ConfigError', 'ConnectionError']).toContain((error as Error).name);
    const text = everything(error);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('ter2@');
    expect(text).toContain('127.0.0.1'); // the host stays, to say where
  });
});
