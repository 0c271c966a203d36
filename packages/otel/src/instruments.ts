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

/** Instruments per meter: instrumentations on one meter share them (and their tallies). */
const byMeter = new WeakMap<Meter, Instruments>();

/** The instruments of `meter`, made once (a second instrumentation adds to the same tallies). */
export function instrumentsOf(meter: Meter): Instruments {
  let instruments = byMeter.get(meter);
  if (!instruments) {
    instruments = createInstruments(meter);
    byMeter.set(meter, instruments);
  }
  return instruments;
}

function createInstruments(meter: Meter): Instruments {
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
  /** Attribute sets by value: the same values are the same object (the tallies' key). */
  readonly #sets = new Map<string, Attributes>();
  readonly #errors = new WeakMap<Attributes, Map<string, Attributes>>();

  #set(key: string, make: () => Attributes, overflow: () => Attributes): Attributes {
    let attributes = this.#sets.get(key);
    if (!attributes) {
      // bounded: past 1,000 sets (a template that leaks ids) every new one shares one `_OTHER` set
      if (this.#sets.size >= 1_000) return overflow();
      attributes = make();
      this.#sets.set(key, attributes);
    }
    return attributes;
  }

  /** Send sets by system and attribute name, then destination: no key is built per message. */
  readonly #sends = new Map<string, Map<string, Map<string, Attributes>>>();
  /** Consumer sets by subscription (one subscription has one backend, hence one system). */
  readonly #consumers = new WeakMap<object, Attributes>();

  /** `destination` is the subject itself, or (`templated`) the template `destinationTemplate` made of it. */
  send(system: string, destination: string | undefined, templated: boolean): Attributes {
    const name = templated ? ATTR.destinationTemplate : ATTR.destinationName;
    let byName = this.#sends.get(system);
    if (!byName) {
      byName = new Map();
      this.#sends.set(system, byName);
    }
    let byDestination = byName.get(name);
    if (!byDestination) {
      byDestination = new Map();
      byName.set(name, byDestination);
    }
    const hit = byDestination.get(destination ?? '');
    if (hit) return hit;
    const make = (d: string | undefined) => () => ({
      [ATTR.system]: system,
      [ATTR.operationName]: 'send',
      ...(d ? { [name]: d } : {}),
    });
    const other = () =>
      this.#set(`send\u0000${system}\u0000${name}\u0000_OTHER`, make('_OTHER'), make('_OTHER'));
    const attributes = this.#set(
      `send\u0000${system}\u0000${name}\u0000${destination ?? ''}`,
      make(destination),
      other,
    );
    if (byDestination.size < 1_000) byDestination.set(destination ?? '', attributes);
    return attributes;
  }

  consumer(
    system: string,
    subscription: { readonly pattern: string; readonly group: string | undefined },
  ): Attributes {
    const hit = this.#consumers.get(subscription);
    if (hit) return hit;
    const make = (pattern: string) => () => ({
      [ATTR.system]: system,
      [ATTR.operationName]: 'process',
      // a pattern is a template of the subjects it matches (`orders.*.created`)
      [ATTR.destinationTemplate]: pattern,
      ...(subscription.group ? { [ATTR.consumerGroup]: subscription.group } : {}),
    });
    const key = (pattern: string) =>
      `process\u0000${system}\u0000${pattern}\u0000${subscription.group ?? ''}`;
    const attributes = this.#set(key(subscription.pattern), make(subscription.pattern), () =>
      this.#set(key('_OTHER'), make('_OTHER'), make('_OTHER')),
    );
    this.#consumers.set(subscription, attributes);
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
      attributes = { ...base, [ATTR.errorType]: byType.size < 100 ? type : '_OTHER' };
      if (byType.size < 100) byType.set(type, attributes);
      else {
        const other = byType.get('_OTHER') ?? attributes;
        byType.set('_OTHER', other);
        attributes = other;
      }
    }
    return attributes;
  }
}
