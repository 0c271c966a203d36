import { InvalidArgumentError } from './errors.js';
import { addGlobal, globalList, OwnAndGlobal } from './global-registry.js';
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
export class Interceptors extends OwnAndGlobal<BusInterceptor> {
  readonly #backend: string;

  constructor(backend: string) {
    super(globalInterceptors);
    this.#backend = backend;
  }

  override add(interceptor: BusInterceptor): () => void {
    checkInterceptor(interceptor);
    return super.add(interceptor);
  }

  /**
   * Runs `send` inside every `publish` interceptor; `messages` get their headers set in place.
   * The real send decides the outcome, whatever an interceptor returns: it happens once (a second
   * `next()` gets the first result), its receipts are what the publish resolves with, and its
   * failure is what it rejects with. An interceptor that throws before the send (or returns
   * without calling `next`) sent nothing: `faults.beforeSend` turns that into the caller's error.
   * One that throws after a send that worked does not undo it: `faults.afterSend` counts it.
   */
  async publish(
    messages: readonly { id: string; subject: string; headers: Headers }[],
    batch: boolean,
    send: () => Promise<readonly PublishReceipt[]>,
    faults: { beforeSend(error: unknown): Error; afterSend(error: unknown): void },
  ): Promise<readonly PublishReceipt[]> {
    const chain = this.all().filter((i) => i.publish);
    if (chain.length === 0) return send();
    const backend = this.#backend;
    let sent: Promise<readonly PublishReceipt[]> | undefined;
    const call: PublishCall = {
      backend,
      batch,
      messages: messages.map((m) => ({
        id: m.id,
        subject: m.subject,
        get headers() {
          return Object.freeze({ ...m.headers });
        },
        setHeader(name: string, value: string) {
          if (sent)
            throw new InvalidArgumentError(`setHeader("${name}") after the message was sent`, {
              backend,
              hint: 'set headers before calling next()',
            });
          Object.assign(m.headers, normalizeHeaders({ [name]: value }, backend));
        },
      })),
    };
    const run = async (i: number): Promise<readonly PublishReceipt[]> => {
      if (i === chain.length) {
        sent ??= send();
        return sent;
      }
      let downstream: Promise<readonly PublishReceipt[]> | undefined;
      const next = () => {
        downstream ??= run(i + 1);
        return downstream;
      };
      await (chain[i] as Required<BusInterceptor>).publish(call, next);
      if (!downstream)
        throw new InvalidArgumentError(
          'a publish interceptor returned without calling next(): nothing was sent',
          {
            backend,
          },
        );
      return downstream;
    };
    let fault: { error: unknown } | undefined;
    try {
      await run(0);
    } catch (error) {
      fault = { error };
    }
    if (!sent) throw faults.beforeSend(fault?.error);
    const receipts = await sent; // the send's own failure, when it failed
    if (fault) faults.afterSend(fault.error);
    return receipts;
  }

  /**
   * Runs `handler(message)` inside every `handle` interceptor. The handler's outcome decides (it
   * runs once; its result or error is what the consume loop gets, even from an interceptor that
   * did not return `next()`'s promise). An interceptor that returns or throws without calling
   * `next` fails the delivery (the handler did not run: redelivered); one that throws after a
   * handler that worked is counted by `onFault`, and the message is acked.
   */
  handle(
    message: Message,
    subscription: ObservedSubscription,
    handler: () => unknown,
    onFault: (error: unknown) => void,
  ): unknown {
    const chain = this.all().filter((i) => i.handle);
    if (chain.length === 0) return handler();
    const call: HandleCall = { backend: this.#backend, message, subscription };
    let ran = false;
    let result: unknown;
    let handlerError: { error: unknown } | undefined;
    const innermost = (): unknown => {
      if (!ran) {
        ran = true;
        try {
          result = handler();
        } catch (error) {
          handlerError = { error };
        }
      }
      if (handlerError) throw handlerError.error;
      return result;
    };
    const run = (i: number): unknown => {
      if (i === chain.length) return innermost();
      let called = false;
      let downstream: unknown;
      const next = () => {
        if (!called) {
          called = true;
          downstream = run(i + 1);
        }
        return downstream;
      };
      return (chain[i] as Required<BusInterceptor>).handle(call, next);
    };
    let returned: unknown;
    let thrown: { error: unknown } | undefined;
    try {
      returned = run(0);
    } catch (error) {
      thrown = { error };
    }
    if (!ran)
      throw (
        thrown?.error ??
        new InvalidArgumentError(
          'a handle interceptor returned without calling next(): the handler did not run',
          {
            backend: this.#backend,
          },
        )
      );
    if (handlerError) {
      if (isThenable(returned)) Promise.resolve(returned).catch(() => {}); // its rejection is the handler's
      throw handlerError.error;
    }
    if (!isThenable(result) && !isThenable(returned)) {
      if (thrown) onFault(thrown.error);
      return result;
    }
    return Promise.allSettled([result, returned]).then(([handled, intercepted]) => {
      const interceptorFailed =
        thrown !== undefined ||
        (intercepted.status === 'rejected' &&
          (handled.status !== 'rejected' || intercepted.reason !== handled.reason));
      if (interceptorFailed && handled.status === 'fulfilled')
        onFault(thrown ? thrown.error : (intercepted as PromiseRejectedResult).reason);
      if (handled.status === 'rejected') throw handled.reason;
      return handled.value;
    });
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}
