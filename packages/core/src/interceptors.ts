import { InvalidArgumentError } from './errors.js';
import { addGlobal, globalList, holdGlobal } from './global-registry.js';
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

/** Interceptors installed for every bus of the process (`interceptAll`). */
const globalInterceptors = globalList<BusInterceptor>('omnibus.interceptors');

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
  return addGlobal(globalInterceptors, interceptor);
}

/** A bus's interceptors: its own (`intercept`) and the process's (`interceptAll`). */
export class Interceptors {
  readonly #backend: string;
  #own: readonly BusInterceptor[] = [];
  /** Whether any interceptor is installed (this bus's or the process's): a plain field for the hot paths. */
  active = false;

  constructor(backend: string) {
    this.#backend = backend;
    holdGlobal(globalInterceptors, this);
    this.refresh();
  }

  /** Recomputes `active` (the process's list changed, or this bus's). */
  refresh(): void {
    this.active = this.#own.length > 0 || globalInterceptors.list.length > 0;
  }

  add(interceptor: BusInterceptor): () => void {
    checkInterceptor(interceptor);
    this.#own = [...this.#own, interceptor];
    this.refresh();
    return () => {
      this.#own = this.#own.filter((i) => i !== interceptor);
      this.refresh();
    };
  }

  #all(): readonly BusInterceptor[] {
    const global = globalInterceptors.list;
    return global.length === 0 ? this.#own : this.#own.length === 0 ? global : [...global, ...this.#own];
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
