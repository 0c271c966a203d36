import type { Attributes, Histogram, Meter } from '@opentelemetry/api';
import { ATTR, METRIC } from './semconv.js';

/**
 * A monotonic count per attribute set, reported through an observable counter: adding is a Map
 * update in this process, and the SDK reads the totals when it collects — no attribute hashing
 * per message (a counter's `add` hashes its attributes every call). Attribute sets are the cached
 * objects of `MetricAttributes`, so their identity is the key and the map stays small.
 */
export class Tally {
  readonly #counts = new Map<Attributes, number>();
  readonly #callback = (result: { observe(value: number, attributes?: Attributes): void }) => {
    for (const [attributes, value] of this.#counts) result.observe(value, attributes);
  };

  constructor(meter: Meter, name: string, description: string) {
    meter.createObservableCounter(name, { description, unit: '{message}' }).addCallback(this.#callback);
  }

  add(n: number, attributes: Attributes): void {
    if (n > 0) this.#counts.set(attributes, (this.#counts.get(attributes) ?? 0) + n);
  }
}

/** The instrumentation's instruments. */
export interface Instruments {
  operationDuration: Histogram;
  processDuration: Histogram;
  sent: Tally;
  consumed: Tally;
  deadLettered: Tally;
  redelivered: Tally;
}

export function createInstruments(meter: Meter): Instruments {
  const seconds = {
    unit: 's',
    advice: { explicitBucketBoundaries: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5] },
  };
  return {
    operationDuration: meter.createHistogram(METRIC.operationDuration, {
      description: 'Duration of a publish (send) operation',
      ...seconds,
    }),
    processDuration: meter.createHistogram(METRIC.processDuration, {
      description: 'Duration of a handler processing one message',
      ...seconds,
    }),
    sent: new Tally(meter, METRIC.sent, 'Messages the backend accepted'),
    consumed: new Tally(meter, METRIC.consumed, 'Messages handed to the application (redeliveries included)'),
    deadLettered: new Tally(meter, METRIC.deadLettered, 'Messages moved to a dead-letter subject'),
    redelivered: new Tally(meter, METRIC.redelivered, 'Deliveries with attempt > 1'),
  };
}

/**
 * Metric attribute sets, made once and reused (their identity keys the tallies): per backend and
 * destination for sends, per subscription for consumers, and each with an `error.type`.
 */
export class MetricAttributes {
  readonly #sends = new Map<string, Attributes>();
  readonly #consumers = new WeakMap<object, Attributes>();
  readonly #errors = new WeakMap<Attributes, Map<string, Attributes>>();

  /** `destination` is the subject itself, or (`templated`) the template `destinationTemplate` made of it. */
  send(system: string, destination: string | undefined, templated: boolean): Attributes {
    const key = `${system}\u0000${templated ? 't' : 'n'}${destination ?? ''}`;
    let attributes = this.#sends.get(key);
    if (!attributes) {
      attributes = {
        [ATTR.system]: system,
        [ATTR.operationName]: 'send',
        ...(destination
          ? { [templated ? ATTR.destinationTemplate : ATTR.destinationName]: destination }
          : {}),
      };
      // bounded: a destination template that leaks ids still cannot grow this past 1,000
      if (this.#sends.size < 1_000) this.#sends.set(key, attributes);
    }
    return attributes;
  }

  consumer(
    system: string,
    subscription: { readonly pattern: string; readonly group: string | undefined },
  ): Attributes {
    let attributes = this.#consumers.get(subscription);
    if (!attributes) {
      attributes = {
        [ATTR.system]: system,
        [ATTR.operationName]: 'process',
        // a pattern is a template of the subjects it matches (`orders.*.created`)
        [ATTR.destinationTemplate]: subscription.pattern,
        ...(subscription.group ? { [ATTR.consumerGroup]: subscription.group } : {}),
      };
      this.#consumers.set(subscription, attributes);
    }
    return attributes;
  }

  withError(base: Attributes, type: string): Attributes {
    let byType = this.#errors.get(base);
    if (!byType) {
      byType = new Map();
      this.#errors.set(base, byType);
    }
    let attributes = byType.get(type);
    if (!attributes) {
      attributes = { ...base, [ATTR.errorType]: type };
      if (byType.size < 100) byType.set(type, attributes);
    }
    return attributes;
  }
}
