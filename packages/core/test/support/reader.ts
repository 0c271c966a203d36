import type { Message, Subscription } from '../../src/types.js';

/** Waits on one subscription for tests (core's own: core depends on none of the test kits). */
export interface Reader {
  /** The next message; fails after `timeoutMs`. */
  next(timeoutMs?: number): Promise<Message>;
  /** `undefined` when nothing arrives within `ms`, else the message that did. */
  nothingWithin(ms: number): Promise<Message | undefined>;
}

export function reader(subscription: Subscription, defaultTimeoutMs = 10_000): Reader {
  const iterator = subscription[Symbol.asyncIterator]();
  // a pull that outlived its wait is kept for the next call: the iterator is read by one caller at a time
  let pulling: Promise<IteratorResult<Message>> | undefined;
  const race = async (ms: number): Promise<IteratorResult<Message> | 'late'> => {
    pulling ??= iterator.next();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(resolve, ms, 'late');
    });
    try {
      const result = await Promise.race([pulling, late]);
      if (result !== 'late') pulling = undefined;
      return result;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    async next(timeoutMs = defaultTimeoutMs) {
      const result = await race(timeoutMs);
      if (result === 'late')
        throw new Error(`no message on "${subscription.pattern}" within ${timeoutMs} ms`);
      if (result.done) throw new Error(`subscription "${subscription.pattern}" ended`);
      return result.value;
    },
    async nothingWithin(ms) {
      const result = await race(ms);
      return result === 'late' || result.done ? undefined : result.value;
    },
  };
}
