import type { EventBus, Message, Subscription } from '@omnibus/core';

/** Deterministic waiting helpers over one subscription (which can be iterated only once). */
export interface Reader {
  /** The next message; fails the test after `timeoutMs`. */
  next(timeoutMs?: number): Promise<Message>;
  /** The next `n` messages, in arrival order. */
  take(n: number, timeoutMs?: number): Promise<Message[]>;
  /** Resolves `undefined` when nothing arrives within `ms`, else the message that did. */
  nothingWithin(ms: number): Promise<Message | undefined>;
}

/** Wraps a subscription for tests. Messages stay unsettled unless the subscription acks automatically. */
export function reader(subscription: Subscription, defaultTimeoutMs = 10_000): Reader {
  const iterator = subscription[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<Message>> | undefined;
  const pull = () => {
    pending ??= iterator.next();
    return pending;
  };
  const within = async (ms: number): Promise<Message | undefined | 'timeout'> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), ms);
    });
    const result = await Promise.race([pull(), timeout]);
    clearTimeout(timer);
    if (result === 'timeout') return 'timeout';
    pending = undefined;
    if (result.done) return undefined;
    return result.value;
  };
  const self: Reader = {
    async next(timeoutMs = defaultTimeoutMs) {
      const r = await within(timeoutMs);
      if (r === 'timeout') throw new Error(`no message on "${subscription.pattern}" within ${timeoutMs} ms`);
      if (r === undefined) throw new Error(`subscription "${subscription.pattern}" ended`);
      return r;
    },
    async take(n, timeoutMs = defaultTimeoutMs) {
      const out: Message[] = [];
      const deadline = Date.now() + timeoutMs;
      while (out.length < n) {
        const left = deadline - Date.now();
        const r = await within(Math.max(1, left));
        if (r === 'timeout')
          throw new Error(
            `got ${out.length} of ${n} messages on "${subscription.pattern}" within ${timeoutMs} ms`,
          );
        if (r === undefined)
          throw new Error(
            `subscription "${subscription.pattern}" ended after ${out.length} of ${n} messages`,
          );
        out.push(r);
      }
      return out;
    },
    async nothingWithin(ms) {
      const r = await within(ms);
      return r === 'timeout' ? undefined : r;
    },
  };
  return self;
}

/** How long {@link storedIds} waits (ms). */
export interface StoredIdsTiming {
  /** For each message while fewer than `expected` have come; default 10 000. */
  timeoutMs?: number;
  /** Once `expected` have come, for any further one (nothing more may come); default 500. */
  quietMs?: number;
}

/**
 * The ids of the messages stored on the subjects of `pattern`, in the order a subscription from
 * the start (`from: 'earliest'`) delivers them: it waits for `expected` messages, then `quietMs`
 * more, so a test sees what is missing and what is too much (it never throws for either). The
 * subscription is closed before it returns.
 */
export async function storedIds(
  bus: EventBus,
  pattern: string,
  expected: number,
  timing: StoredIdsTiming = {},
): Promise<string[]> {
  const { timeoutMs = 10_000, quietMs = 500 } = timing;
  const subscription = await bus.subscribe(pattern, { from: 'earliest' });
  const messages = reader(subscription);
  const ids: string[] = [];
  try {
    for (;;) {
      const message = await messages.nothingWithin(ids.length < expected ? timeoutMs : quietMs);
      if (!message) break;
      ids.push(message.id);
    }
  } finally {
    await subscription.close();
  }
  return ids;
}

/**
 * Polls `condition` (which may be async: then every 50 ms, one call at a time) until true;
 * fails after `timeoutMs` with `what` in the message.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const met = condition();
    const isAsync = typeof met !== 'boolean';
    if (isAsync ? await met : met) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, isAsync ? 50 : 5));
  }
}

/** A promise with its resolve function exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A fresh subject prefix so runs on a shared broker never see each other's data. */
export function uniquePrefix(): string {
  return `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
