import { InvalidArgumentError } from './errors.js';
import type { ObservedSubscription } from './observer.js';
import type { Headers, Message, PublishReceipt } from './types.js';
import { normalizeHeaders } from './validate.js';

/** A message about to be sent, as an interceptor sees it: it may add headers (trace context). */
export interface InterceptedMessage {
  readonly id: string;
  readonly subject: string;
  readonly headers: Readonly<Headers>;
  /** Sets a header on the message before it is sent (validated like any header). */
  setHeader(name: string, value: string): void;
}

/** One `publish` (one message) or `publishBatch` (its messages, in order) about to be sent. */
export interface PublishCall {
  readonly backend: string;
  readonly batch: boolean;
  readonly messages: readonly InterceptedMessage[];
}

/** One handler run of a `consume` (the message it gets, and the subscription). */
export interface HandleCall {
  readonly backend: string;
  readonly message: Message;
  readonly subscription: ObservedSubscription;
}

/**
 * Code that runs around a bus's publishes and handlers — what tracing needs: it adds headers to
 * what is sent, and runs each handler inside a context of its own. Each method must call `next`
 * once and return (or resolve to) what it returns; what `next` throws it must rethrow.
 */
export interface BusInterceptor {
  /** Around each `publish` / `publishBatch`, after validation, before anything is sent. */
  publish?(
    call: PublishCall,
    next: () => Promise<readonly PublishReceipt[]>,
  ): Promise<readonly PublishReceipt[]>;
  /** Around each `consume` handler run (the handler's result or promise is `next()`'s). */
  handle?(call: HandleCall, next: () => unknown): unknown;
}

/**
 * Interceptors installed for every bus of the process (`interceptAll`), shared by every copy of
 * `@omnibus/core` that is loaded (one registry on `globalThis`).
 */
const GLOBAL = Symbol.for('omnibus.interceptors');
interface GlobalRegistry {
  list: readonly BusInterceptor[];
}
function globalRegistry(): GlobalRegistry {
  const holder = globalThis as unknown as Record<symbol, GlobalRegistry | undefined>;
  let registry = holder[GLOBAL];
  if (!registry) {
    registry = { list: [] };
    holder[GLOBAL] = registry;
  }
  return registry;
}

function checkInterceptor(interceptor: BusInterceptor): void {
  if (
    interceptor === null ||
    typeof interceptor !== 'object' ||
    (interceptor.publish !== undefined && typeof interceptor.publish !== 'function') ||
    (interceptor.handle !== undefined && typeof interceptor.handle !== 'function')
  )
    throw new InvalidArgumentError('an interceptor is an object with optional publish and handle functions', {
      hint: 'interceptAll({ publish: (call, next) => next(), handle: (call, next) => next() })',
    });
}

/**
 * Installs `interceptor` around the publishes and handlers of every bus of this process, those
 * created before and after (what an OpenTelemetry instrumentation does). Returns a function that
 * removes it. No interceptor installed: nothing is spent on this path.
 */
export function interceptAll(interceptor: BusInterceptor): () => void {
  checkInterceptor(interceptor);
  const registry = globalRegistry();
  registry.list = [...registry.list, interceptor];
  return () => {
    registry.list = registry.list.filter((i) => i !== interceptor);
  };
}

/** A bus's interceptors: its own (`intercept`) and the process's (`interceptAll`). */
export class Interceptors {
  readonly #backend: string;
  readonly #global = globalRegistry();
  #own: readonly BusInterceptor[] = [];

  constructor(backend: string) {
    this.#backend = backend;
  }

  add(interceptor: BusInterceptor): () => void {
    checkInterceptor(interceptor);
    this.#own = [...this.#own, interceptor];
    return () => {
      this.#own = this.#own.filter((i) => i !== interceptor);
    };
  }

  /** Whether any interceptor is installed (read on the hot paths). */
  get active(): boolean {
    return this.#own.length > 0 || this.#global.list.length > 0;
  }

  #all(): readonly BusInterceptor[] {
    return this.#global.list.length === 0
      ? this.#own
      : this.#own.length === 0
        ? this.#global.list
        : [...this.#global.list, ...this.#own];
  }

  /** Runs `send` inside every `publish` interceptor; `messages` get their headers set in place. */
  publish(
    messages: readonly { id: string; subject: string; headers: Headers }[],
    batch: boolean,
    send: () => Promise<readonly PublishReceipt[]>,
  ): Promise<readonly PublishReceipt[]> {
    const chain = this.#all().filter((i) => i.publish);
    if (chain.length === 0) return send();
    const backend = this.#backend;
    const call: PublishCall = {
      backend,
      batch,
      messages: messages.map((m) => ({
        id: m.id,
        subject: m.subject,
        get headers() {
          return m.headers;
        },
        setHeader(name: string, value: string) {
          Object.assign(m.headers, normalizeHeaders({ [name]: value }, backend));
        },
      })),
    };
    const run = (i: number): Promise<readonly PublishReceipt[]> =>
      i === chain.length
        ? send()
        : Promise.resolve((chain[i] as Required<BusInterceptor>).publish(call, () => run(i + 1)));
    return run(0);
  }

  /** Runs `handler(message)` inside every `handle` interceptor. */
  handle(message: Message, subscription: ObservedSubscription, handler: () => unknown): unknown {
    const chain = this.#all().filter((i) => i.handle);
    if (chain.length === 0) return handler();
    const call: HandleCall = { backend: this.#backend, message, subscription };
    const run = (i: number): unknown =>
      i === chain.length ? handler() : (chain[i] as Required<BusInterceptor>).handle(call, () => run(i + 1));
    return run(0);
  }
}
