import { InvalidArgumentError } from './errors.js';
import { addGlobal, globalList, OwnAndGlobal } from './global-registry.js';
import type { ObservedSubscription } from './observer.js';
import type { Headers, Message, PublishReceipt } from './types.js';
import { assertHeader } from './validate.js';

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

  /**
   * The interceptors with a `publish` / `handle`, recomputed when the lists change (not per call).
   * Declared only: the base class's constructor refreshes before this class's fields exist.
   */
  private declare publishChain: readonly Required<Pick<BusInterceptor, 'publish'>>[];
  private declare handleChain: readonly Required<Pick<BusInterceptor, 'handle'>>[];

  constructor(backend: string) {
    super(globalInterceptors);
    this.#backend = backend;
  }

  override refresh(): void {
    super.refresh();
    const all = this.all();
    this.publishChain = all.filter((i) => i.publish) as Required<Pick<BusInterceptor, 'publish'>>[];
    this.handleChain = all.filter((i) => i.handle) as Required<Pick<BusInterceptor, 'handle'>>[];
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
    const chain = this.publishChain;
    if (chain.length === 0) return send();
    const backend = this.#backend;
    let sent: Promise<readonly PublishReceipt[]> | undefined;
    const state = { sent: false };
    const call: PublishCall = {
      backend,
      batch,
      messages: messages.map((m) => new InterceptedOutgoing(m, backend, state)),
    };
    const run = async (i: number): Promise<readonly PublishReceipt[]> => {
      if (i === chain.length) {
        state.sent = true;
        sent ??= send();
        return sent;
      }
      let downstream: Promise<readonly PublishReceipt[]> | undefined;
      const next = () => {
        downstream ??= run(i + 1);
        return downstream;
      };
      await (chain[i] as Required<Pick<BusInterceptor, 'publish'>>).publish(call, next);
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
    const chain = this.handleChain;
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
      return (chain[i] as Required<Pick<BusInterceptor, 'handle'>>).handle(call, next);
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
    // the handler's outcome decides; an interceptor's own failure after a handler that worked is a
    // fault. Both are observed at once (an early rejection is never unhandled), with as few
    // promises as can be: each costs a context manager's hooks when tracing is on.
    return new Promise((resolve, reject) => {
      let handled: Settled | undefined;
      let intercepted: Settled | undefined;
      const judge = () => {
        if (!handled || !intercepted) return;
        const interceptorFailed =
          thrown !== undefined || (!intercepted.ok && (handled.ok || intercepted.value !== handled.value));
        if (interceptorFailed && handled.ok) onFault(thrown ? thrown.error : intercepted.value);
        if (handled.ok) resolve(handled.value);
        else reject(handled.value);
      };
      Promise.resolve(result).then(
        (value) => {
          handled = { ok: true, value };
          judge();
        },
        (error: unknown) => {
          handled = { ok: false, value: error };
          judge();
        },
      );
      Promise.resolve(returned).then(
        (value) => {
          intercepted = { ok: true, value };
          judge();
        },
        (error: unknown) => {
          intercepted = { ok: false, value: error };
          judge();
        },
      );
    });
  }
}

/** A value or promise's outcome. */
interface Settled {
  readonly ok: boolean;
  readonly value: unknown;
}

/**
 * A message about to be sent, as a publish interceptor sees it. `headers` is a frozen copy, made
 * once and made again only after a `setHeader`; `setHeader` validates one header as a publish does.
 */
class InterceptedOutgoing implements InterceptedMessage {
  readonly #message: { id: string; subject: string; headers: Headers };
  readonly #backend: string;
  readonly #state: { sent: boolean };
  #view: Readonly<Headers> | undefined;

  constructor(
    message: { id: string; subject: string; headers: Headers },
    backend: string,
    state: { sent: boolean },
  ) {
    this.#message = message;
    this.#backend = backend;
    this.#state = state;
  }

  get id(): string {
    return this.#message.id;
  }

  get subject(): string {
    return this.#message.subject;
  }

  get headers(): Readonly<Headers> {
    this.#view ??= Object.freeze({ ...this.#message.headers });
    return this.#view;
  }

  setHeader(name: string, value: string): void {
    if (this.#state.sent)
      throw new InvalidArgumentError(`setHeader("${name}") after the message was sent`, {
        backend: this.#backend,
        hint: 'set headers before calling next()',
      });
    assertHeader(name, value, this.#backend);
    this.#message.headers[name] = value;
    this.#view = undefined;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}
