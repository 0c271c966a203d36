import type { Admin } from './client.js';

/** An admin client whose requests under way can be awaited (see `trackedAdmin`). */
export interface TrackedAdmin {
  readonly admin: Admin;
  /** Resolves once no request of `admin` is under way (each ends within its own timeout). */
  idle(): Promise<void>;
}

/**
 * The admin client, noting each request under way. librdkafka runs an admin request on a
 * thread of Node's pool until its answer or timeout: disconnecting the client meanwhile frees
 * what that thread still uses, and a process exiting meanwhile unloads the code it returns to —
 * both crash the process. `close()` waits for `idle()` before it disconnects.
 */
export function trackedAdmin(admin: Admin): TrackedAdmin {
  const pending = new Set<Promise<unknown>>();
  const proxy = new Proxy(admin, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      // the client's methods read its private fields: they run on the client, never on the proxy
      if (property === 'connect' || property === 'disconnect') return value.bind(target);
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (result instanceof Promise) {
          const settled = result.then(
            () => undefined,
            () => undefined,
          );
          pending.add(settled);
          void settled.then(() => pending.delete(settled));
        }
        return result;
      };
    },
  });
  return {
    admin: proxy,
    idle: async () => {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}
