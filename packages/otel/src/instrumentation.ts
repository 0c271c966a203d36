import {
  type BusEvent,
  type BusInterceptor,
  type HandleCall,
  InvalidArgumentError,
  interceptAll,
  type Message,
  observeAll,
  type PublishCall,
  type PublishReceipt,
  redact,
} from '@omnibus/core';
import {
  type Context,
  context,
  isSpanContextValid,
  type Link,
  type MeterProvider,
  metrics,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { type Instruments, instrumentsOf, MetricAttributes } from './instruments.js';
import { ATTR, errorType, messagingSystem, SETTLE_OPERATION } from './semconv.js';

/** The name and version the tracer and meter are created with. */
export const INSTRUMENTATION_NAME = '@omnibus/otel';
export const INSTRUMENTATION_VERSION = '0.1.0';

/** Options of `instrumentOmnibus`. */
export interface OmnibusInstrumentationOptions {
  /** Where spans go (default: the global one, set by your SDK). */
  tracerProvider?: TracerProvider;
  /** Where metrics go (default: the global one, set by your SDK). */
  meterProvider?: MeterProvider;
  /**
   * The low-cardinality name of a published subject, for span names and metric attributes
   * (`messaging.destination.template`). Default: the subject itself — right when subjects are a
   * fixed set (`orders.eu.created`). When subjects carry ids (`orders.o-123.created`), return a
   * template (`orders.*.created`): span names and metric series would explode otherwise.
   * Consumers use the pattern they subscribed with.
   */
  destinationTemplate?: (subject: string) => string;
  /**
   * Which settles get a span: `'failures'` (default: `nack`, `dead_letter`, `release`,
   * `refused` — what went wrong), `'all'` (also every `ack`: one more span per message on the
   * happy path, about a third of the instrumentation's cost there), or `'none'`.
   */
  settleSpans?: 'failures' | 'all' | 'none';
}

/** A running instrumentation: `disable()` takes it off every bus, `enable()` puts it back. */
export interface OmnibusInstrumentation {
  disable(): void;
  enable(): void;
}

/** Metric attribute sets, shared by every instrumentation (the same values are the same object). */
const attributeSets = new MetricAttributes();

/**
 * The instrumentation enabled now, if any: enabling another one disables it. Kept on `globalThis`
 * (core's interceptor and listener lists are process-wide too): two copies of this package
 * installed side by side must not both trace every message.
 */
const ENABLED = Symbol.for('omnibus.otel.enabled');
const slot = globalThis as { [ENABLED]?: OmnibusInstrumentation };

/** Headers as a propagation carrier. */
const getter = {
  keys: (carrier: Readonly<Record<string, string>>) => Object.keys(carrier),
  get: (carrier: Readonly<Record<string, string>>, key: string) => carrier[key],
};

/** Receipts of messages stored (duplicates excluded). */
function countStored(receipts: readonly PublishReceipt[]): number {
  let n = 0;
  for (const r of receipts) if (!r.duplicate) n++;
  return n;
}

/** Marks a span failed with `error`. */
function failSpan(span: Span, error: unknown, type: string): void {
  if (!span.isRecording()) return;
  // a handler's error may carry a connection string: exported spans get it redacted, as logs do
  const message = redact(error instanceof Error ? error.message : String(error));
  span.recordException({ name: error instanceof Error ? error.name : 'Error', message });
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.setAttribute(ATTR.errorType, type);
}

/**
 * Instruments every Omnibus bus of this process — those created before and after — with
 * OpenTelemetry: a `send` span per publish (and a `create` span per message of a batch) whose
 * context travels in the message headers (W3C `traceparent`, through the propagator your SDK
 * registered), a `process` span around each `consume` handler in the producer's trace, a `settle`
 * span for each nak, dead-letter or release (each ack too with `settleSpans: 'all'`), and the messaging metrics. Works with your own SDK set-up;
 * starts nothing by itself. Call it once, after the SDK is registered.
 *
 * ```ts
 * import { instrumentOmnibus } from '@omnibus/otel';
 * const instrumentation = instrumentOmnibus();
 * ```
 */
export function instrumentOmnibus(options: OmnibusInstrumentationOptions = {}): OmnibusInstrumentation {
  const tracer: Tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(
    INSTRUMENTATION_NAME,
    INSTRUMENTATION_VERSION,
  );
  // the global meter provider has no proxy (the tracer provider has): follow it, so that an SDK
  // registered after this call still gets the metrics
  let meterProvider: MeterProvider | undefined;
  let current: Instruments | undefined;
  const instrumentsNow = (): Instruments => {
    const provider = options.meterProvider ?? metrics.getMeterProvider();
    if (provider !== meterProvider || !current) {
      meterProvider = provider;
      current = instrumentsOf(provider.getMeter(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION));
    }
    return current;
  };
  const template = options.destinationTemplate ?? ((subject: string) => subject);
  const settleSpans = options.settleSpans ?? 'failures';
  if (!['failures', 'all', 'none'].includes(settleSpans))
    throw new InvalidArgumentError(
      `settleSpans must be 'failures', 'all' or 'none', got ${String(settleSpans)}`,
    );
  if (options.destinationTemplate !== undefined && typeof options.destinationTemplate !== 'function')
    throw new InvalidArgumentError('destinationTemplate must be a function of the subject');
  /** The process span of a delivery still being handled or settled: settle spans are its children. */
  const processSpans = new WeakMap<Message, Span>();
  /** Ends the process span of a handler still running (see `traceHandler`). */
  const running = new WeakMap<Message, (error: unknown) => void>();

  const safeTemplate = (subject: string): string => {
    try {
      const t = template(subject);
      return typeof t === 'string' && t.length > 0 ? t : subject;
    } catch {
      return subject;
    }
  };

  const publish: BusInterceptor['publish'] = async (call, next) => tracePublish(call, next);

  async function tracePublish(
    call: PublishCall,
    next: () => Promise<readonly PublishReceipt[]>,
  ): Promise<readonly PublishReceipt[]> {
    const system = messagingSystem(call.backend);
    const { messages } = call;
    const first = messages[0];
    let same = true;
    for (let i = 1; i < messages.length && same; i++) same = messages[i]?.subject === first?.subject;
    const destination = same && first ? safeTemplate(first.subject) : undefined;
    const name = destination ? `send ${destination}` : 'send';
    const started = performance.now();
    const active = context.active();
    // Published with no span active (a relay, a redrive, a background loop) and already carrying a
    // creation context (written to an outbox inside a request, dead-lettered earlier): its spans
    // continue that trace instead of starting one of their own.
    const inherit = trace.getSpanContext(active) === undefined;
    const parentOf = (message: PublishCall['messages'][number]): Context => {
      if (!inherit || message.headers.traceparent === undefined) return active;
      const carried = propagation.extract(ROOT_CONTEXT, message.headers, getter);
      return trace.getSpanContext(carried) ? carried : active;
    };
    let span: Span;
    if (!call.batch && first) {
      // one message: the send span is its creation context
      const parent = parentOf(first);
      span = tracer.startSpan(name, { kind: SpanKind.PRODUCER }, parent);
      if (span.isRecording())
        span.setAttributes({
          [ATTR.system]: system,
          [ATTR.operationName]: 'send',
          [ATTR.operationType]: 'send',
          [ATTR.destinationName]: first.subject,
          [ATTR.messageId]: first.id,
          ...(destination ? { [ATTR.destinationTemplate]: destination } : {}),
        });
      if (isSpanContextValid(span.spanContext())) inject(trace.setSpan(parent, span), first);
    } else {
      // a batch: one create span per message (its creation context), linked from the send span
      const links: Link[] = [];
      for (const m of messages) {
        const parent = parentOf(m);
        const create = tracer.startSpan(
          `create ${safeTemplate(m.subject)}`,
          { kind: SpanKind.PRODUCER },
          parent,
        );
        if (create.isRecording()) {
          create.setAttributes({
            [ATTR.system]: system,
            [ATTR.operationName]: 'create',
            [ATTR.operationType]: 'create',
            [ATTR.destinationName]: m.subject,
            [ATTR.destinationTemplate]: safeTemplate(m.subject),
            [ATTR.messageId]: m.id,
          });
          links.push({ context: create.spanContext() });
        }
        if (isSpanContextValid(create.spanContext())) inject(trace.setSpan(parent, create), m);
        create.end();
      }
      span = tracer.startSpan(name, { kind: SpanKind.CLIENT, links }, active);
      if (span.isRecording())
        span.setAttributes({
          [ATTR.system]: system,
          [ATTR.operationName]: 'send',
          [ATTR.operationType]: 'send',
          [ATTR.batchCount]: messages.length,
          ...(destination && first
            ? { [ATTR.destinationTemplate]: destination, [ATTR.destinationName]: first.subject }
            : {}),
        });
    }
    let metricAttributes = attributeSets.send(system, destination, options.destinationTemplate !== undefined);
    try {
      const receipts = span.isRecording()
        ? await context.with(trace.setSpan(active, span), next)
        : await next();
      instrumentsNow().sent.add(
        messages.length === 1 ? (receipts[0]?.duplicate ? 0 : 1) : countStored(receipts),
        metricAttributes,
      );
      return receipts;
    } catch (error) {
      const type = errorType(error);
      failSpan(span, error, type);
      metricAttributes = attributeSets.withError(metricAttributes, type);
      throw error;
    } finally {
      instrumentsNow().operationDuration.record((performance.now() - started) / 1_000, metricAttributes);
      span.end();
    }
  }

  function inject(ctx: Context, message: PublishCall['messages'][number]): void {
    const carrier: Record<string, string> = {};
    propagation.inject(ctx, carrier);
    for (const [key, value] of Object.entries(carrier)) message.setHeader(key, value);
  }

  const handle: BusInterceptor['handle'] = (call, next) => traceHandler(call, next);

  function traceHandler(call: HandleCall, next: () => unknown): unknown {
    const { message, subscription } = call;
    const creation = propagation.extract(ROOT_CONTEXT, message.headers, getter);
    const creationSpan = trace.getSpanContext(creation);
    const parent = creationSpan ? creation : context.active();
    // one message: a child of its creation context (the producer's trace), and linked to it
    const span = tracer.startSpan(
      `process ${subscription.pattern}`,
      { kind: SpanKind.CONSUMER, ...(creationSpan ? { links: [{ context: creationSpan }] } : {}) },
      parent,
    );
    const recording = span.isRecording();
    if (recording) {
      span.setAttributes({
        [ATTR.system]: messagingSystem(call.backend),
        [ATTR.operationName]: 'process',
        [ATTR.operationType]: 'process',
        [ATTR.destinationName]: message.subject,
        [ATTR.destinationTemplate]: subscription.pattern,
        [ATTR.messageId]: message.id,
        [ATTR.attempt]: message.attempt,
        ...(subscription.group ? { [ATTR.consumerGroup]: subscription.group } : {}),
      });
      processSpans.set(message, span);
    }
    let metricAttributes = attributeSets.consumer(messagingSystem(call.backend), subscription);
    const started = performance.now();
    const failed = (error: unknown) => {
      const type = errorType(error);
      failSpan(span, error, type);
      metricAttributes = attributeSets.withError(metricAttributes, type);
    };
    let ended = false;
    const done = () => {
      if (ended) return;
      ended = true;
      running.delete(message);
      instrumentsNow().processDuration.record((performance.now() - started) / 1_000, metricAttributes);
      span.end();
    };
    // a handler that never returns: its span ends when core takes the message back (ack timeout,
    // or a close that stopped waiting), so that it is exported and its settle spans have a parent
    running.set(message, (error: unknown) => {
      failed(error);
      done();
    });
    let result: unknown;
    try {
      result = recording || creationSpan ? context.with(trace.setSpan(parent, span), next) : next();
    } catch (error) {
      failed(error);
      done();
      throw error;
    }
    if (
      result !== null &&
      typeof result === 'object' &&
      typeof (result as PromiseLike<unknown>).then === 'function'
    ) {
      return Promise.resolve(result).then(
        (value) => {
          done();
          return value;
        },
        (error: unknown) => {
          failed(error);
          done();
          throw error;
        },
      );
    }
    done();
    return result;
  }

  const listener = (event: BusEvent): void => {
    if (event.type === 'handed-out') {
      const attributes = attributeSets.consumer(messagingSystem(event.backend), event.subscription);
      const instruments = instrumentsNow();
      instruments.consumed.add(1, attributes);
      if (event.message.attempt > 1) instruments.redelivered.add(1, attributes);
      return;
    }
    if (event.type !== 'settled') return;
    const { message, subscription, outcome } = event;
    if (outcome === 'dead-lettered')
      instrumentsNow().deadLettered.add(
        1,
        attributeSets.consumer(messagingSystem(event.backend), subscription),
      );
    const processSpan = processSpans.get(message);
    processSpans.delete(message);
    const stillRunning = running.get(message);
    if (stillRunning && (outcome === 'released' || (event.error as { code?: unknown })?.code === 'TIMEOUT'))
      stillRunning(
        event.error ?? new Error(`the handler was still running when the message was ${outcome} (closing)`),
      );
    if (settleSpans === 'none' || (settleSpans === 'failures' && outcome === 'acked')) return;
    // under a process span (a handler ran it); else in the creation context (an iterator's message)
    const parent = processSpan
      ? trace.setSpan(ROOT_CONTEXT, processSpan)
      : propagation.extract(ROOT_CONTEXT, message.headers, getter);
    if (!processSpan && !trace.getSpanContext(parent)) return; // no trace to add a settle to
    const operation = SETTLE_OPERATION[outcome] ?? outcome;
    const span = tracer.startSpan(`${operation} ${subscription.pattern}`, { kind: SpanKind.CLIENT }, parent);
    if (span.isRecording()) {
      span.setAttributes({
        [ATTR.system]: messagingSystem(event.backend),
        [ATTR.operationName]: operation,
        [ATTR.operationType]: 'settle',
        [ATTR.destinationName]: message.subject,
        [ATTR.destinationTemplate]: subscription.pattern,
        [ATTR.messageId]: message.id,
        [ATTR.attempt]: message.attempt,
        [ATTR.outcome]: outcome,
        ...(subscription.group ? { [ATTR.consumerGroup]: subscription.group } : {}),
        ...(event.deadLetterSubject ? { [ATTR.deadLetterSubject]: event.deadLetterSubject } : {}),
        ...(event.error !== undefined ? { [ATTR.errorType]: errorType(event.error) } : {}),
      });
      if (outcome === 'dead-lettered' || outcome === 'refused')
        // as the dead-letter header has it: no credential, at most 1,024 characters
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: redact(event.reason ?? outcome).slice(0, 1_024),
        });
    }
    span.end();
  };

  let removals: (() => void)[] = [];
  const instrumentation: OmnibusInstrumentation = {
    enable() {
      if (removals.length > 0) return;
      // one instrumentation at a time: enabling this one disables another (no doubled spans)
      const other = slot[ENABLED];
      if (other && other !== instrumentation) other.disable();
      slot[ENABLED] = instrumentation;
      removals = [
        interceptAll({ publish, handle }),
        observeAll(listener, { events: ['handed-out', 'settled'] }),
      ];
    },
    disable() {
      for (const remove of removals.splice(0)) remove();
      if (slot[ENABLED] === instrumentation) slot[ENABLED] = undefined;
    },
  };
  instrumentation.enable();
  return instrumentation;
}
