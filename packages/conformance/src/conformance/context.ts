import type { Capabilities, Closable, EventBus, SubscribeOptions, Subscription } from '@omnibus/core';
import { type Reader, reader } from '../reader.js';

/** What every conformance test gets. */
export interface ConformanceContext {
  /** A fresh bus for this test. */
  readonly bus: EventBus;
  /** Declared capabilities of the backend. */
  readonly capabilities: Readonly<Capabilities>;
  /** A subject under this test's unique prefix: `subject('orders', 'eu')` → `t…​.orders.eu`. */
  subject(...tokens: string[]): string;
  /** A group name unique to this test. */
  group(name: string): string;
  /** Subscribes and wraps the subscription in a `Reader`; closed after the test. */
  read(pattern: string, options?: SubscribeOptions): Promise<Reader & { subscription: Subscription }>;
  /** Closes this with the test. */
  track<T extends Closable>(closable: T): T;
  /** Upper bound for positive waits. */
  readonly timeoutMs: number;
  /** Window for "nothing else arrives" checks. */
  readonly quietMs: number;
}

/** A conformance test body. */
export type ConformanceTest = (ctx: ConformanceContext) => Promise<void>;

/** Registers one named test (counted in the report). */
export type Register = (name: string, body: ConformanceTest, timeoutMs?: number) => void;

/** Builds the per-test context. */
export function createContext(
  bus: EventBus,
  prefix: string,
  timeoutMs: number,
  quietMs: number,
): { ctx: ConformanceContext; dispose(): Promise<void> } {
  const closables: Closable[] = [];
  const ctx: ConformanceContext = {
    bus,
    capabilities: bus.capabilities,
    subject: (...tokens) => [prefix, ...tokens].join('.'),
    group: (name) => `${prefix}-${name}`,
    async read(pattern, options) {
      const subscription = await bus.subscribe(pattern, options);
      closables.push(subscription);
      return Object.assign(reader(subscription, timeoutMs), { subscription });
    },
    track(closable) {
      closables.push(closable);
      return closable;
    },
    timeoutMs,
    quietMs,
  };
  return {
    ctx,
    async dispose() {
      await Promise.allSettled(closables.map((c) => c.close()));
    },
  };
}
