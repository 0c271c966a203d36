import { formatIssues, InvalidArgumentError, ValidationError, type ValidationIssue } from './errors.js';
import type { InferInput, InferOutput, StandardIssue, StandardSchemaV1 } from './standard-schema.js';
import { assertSubject } from './subject.js';
import type {
  ConsumeOptions,
  Consumer,
  EventBus,
  Message,
  PublishOptions,
  PublishReceipt,
  SubscribeOptions,
} from './types.js';

/** A message whose JSON payload passed the event's schema. */
export interface TypedMessage<T> extends Message {
  /** The validated (and, if the schema transforms, transformed) payload. */
  readonly data: T;
}

/** A typed event: a subject and a Standard Schema (zod, valibot, arktype, …). */
export interface EventDefinition<S extends StandardSchemaV1> {
  readonly subject: string;
  readonly schema: S;
  /** Validates `data`, then publishes it as JSON. Rejects with `ValidationError` (nothing sent) when invalid. */
  publish(bus: EventBus, data: InferInput<S>, options?: PublishOptions): Promise<PublishReceipt>;
  /**
   * Consumes the event: each message is decoded and validated first; one that
   * fails is dead-lettered with the issues in `omnibus-dlq-reason` and never
   * reaches the handler.
   */
  consume(
    bus: EventBus,
    handler: (data: InferOutput<S>, message: TypedMessage<InferOutput<S>>) => unknown | Promise<unknown>,
    options?: ConsumeOptions,
  ): Promise<Consumer>;
  /** Like `consume` in iterator form: invalid messages are dead-lettered and skipped. */
  subscribe(
    bus: EventBus,
    options?: SubscribeOptions,
  ): Promise<AsyncIterable<TypedMessage<InferOutput<S>>> & { close(): Promise<void> }>;
  /** Decodes and validates a raw message's payload. */
  parse(
    message: Message,
  ): Promise<{ ok: true; data: InferOutput<S> } | { ok: false; issues: readonly ValidationIssue[] }>;
}

function toIssues(issues: ReadonlyArray<StandardIssue>): ValidationIssue[] {
  return issues.map((i) => ({
    message: i.message,
    path: i.path?.map((p) => (typeof p === 'object' && p !== null ? p.key : p)),
  }));
}

async function validate<S extends StandardSchemaV1>(schema: S, value: unknown) {
  const result = await schema['~standard'].validate(value);
  return result.issues
    ? { ok: false as const, issues: toIssues(result.issues) }
    : { ok: true as const, data: result.value as InferOutput<S> };
}

function withData<T>(message: Message, data: T): TypedMessage<T> {
  return {
    id: message.id,
    subject: message.subject,
    payload: message.payload,
    headers: message.headers,
    publishedAt: message.publishedAt,
    attempt: message.attempt,
    get settled() {
      return message.settled;
    },
    text: () => message.text(),
    json: <J>() => message.json<J>(),
    ack: () => message.ack(),
    nak: (options) => message.nak(options),
    term: (reason) => message.term(reason),
    data,
  };
}

/**
 * Defines a typed event on a concrete subject with any Standard Schema validator.
 * Publishing validates before sending; consuming validates after decoding.
 */
export function defineEvent<S extends StandardSchemaV1>(subject: string, schema: S): EventDefinition<S> {
  assertSubject(subject);
  if (!schema || typeof schema !== 'object' || !('~standard' in schema)) {
    throw new InvalidArgumentError('defineEvent needs a Standard Schema (zod, valibot, arktype, …)', {
      hint: "pass the schema itself, e.g. defineEvent('orders.placed', z.object({ orderId: z.string() }))",
    });
  }
  const parse: EventDefinition<S>['parse'] = async (message) => {
    let raw: unknown;
    try {
      raw = message.json();
    } catch (error) {
      return { ok: false, issues: [{ message: `payload is not valid JSON (${(error as Error).message})` }] };
    }
    return validate(schema, raw);
  };
  const reject = (issues: readonly ValidationIssue[]) => `validation failed: ${formatIssues(issues)}`;

  return {
    subject,
    schema,
    async publish(bus, data, options) {
      const result = await validate(schema, data);
      if (!result.ok) throw new ValidationError(subject, result.issues, { backend: bus.backend });
      const headers = { 'content-type': 'application/json', ...options?.headers };
      return bus.publish(subject, JSON.stringify(result.data), { ...options, headers });
    },
    consume(bus, handler, options) {
      return bus.consume(
        subject,
        async (message) => {
          const result = await parse(message);
          if (!result.ok) {
            await message.term(reject(result.issues));
            return;
          }
          await handler(result.data, withData(message, result.data));
        },
        options,
      );
    },
    async subscribe(bus, options) {
      const sub = await bus.subscribe(subject, options);
      const iterate = async function* () {
        for await (const message of sub) {
          const result = await parse(message);
          if (!result.ok) {
            await message.term(reject(result.issues));
            continue;
          }
          yield withData(message, result.data);
        }
      };
      return { [Symbol.asyncIterator]: iterate, close: () => sub.close() };
    },
    parse,
  };
}
