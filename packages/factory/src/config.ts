import type { BackendOptionsRegistry, CapabilityName } from '@omnibus/core';
import type { AdapterFactory } from './registry.js';

/** What every backend's configuration has besides the adapter's own options. */
export interface CommonConfig {
  /**
   * Capabilities the application depends on. Start-up fails with `ConfigError`
   * (field `require.<name>`) when the backend lacks one, instead of behaving
   * differently later.
   */
  require?: Partial<Record<CapabilityName, boolean>>;
}

/** The backends the factory registers itself (`@omnibus/memory`, `nats`, `redis`, `kafka`, `rabbitmq`). */
export type BuiltInBackend = 'memory' | 'nats' | 'redis' | 'kafka' | 'rabbitmq';

/**
 * The backends whose options this program knows: every adapter whose types are
 * part of it adds its options to `BackendOptionsRegistry` of `@omnibus/core`.
 * An adapter's types are part of the program once anything imports from it —
 * or `import type {} from '@omnibus/nats'`.
 */
export type TypedBackend = Extract<keyof BackendOptionsRegistry, string>;

/** A backend `createEventBus` accepts by name: a typed one, or a built-in one. */
export type BackendName = TypedBackend | BuiltInBackend;

/**
 * The options of a built-in backend whose adapter's types are not in the
 * program: any names, checked by the adapter at run time (`ConfigError` naming
 * an unknown one). Import the adapter's types to have them checked by tsc.
 */
export interface UntypedOptions {
  [option: string]: unknown;
}

/** The adapter options of backend `B`: from its adapter's types, else {@link UntypedOptions}. */
export type OptionsFor<B extends BackendName> = B extends TypedBackend
  ? BackendOptionsRegistry[B]
  : UntypedOptions;

/** The configuration of one backend, e.g. `ConfigFor<'nats'>`: `backend`, `require` and the adapter's options. */
export type ConfigFor<B extends BackendName> = { backend: B } & CommonConfig & OptionsFor<B>;

/**
 * Configuration for `createEventBus`: a union discriminated by `backend`, one
 * member per backend. Every field except `backend` and `require` is passed to the
 * adapter's factory as its options (see each adapter's README), so a misspelt
 * option is a compile error in TypeScript — for every adapter whose types are in
 * the program — and a `ConfigError` naming it at run time.
 */
export type EventBusConfig = { [B in BackendName]: ConfigFor<B> }[BackendName];

/** The options a factory function takes (its first parameter, `undefined` left out). */
export type FactoryOptions<F> = F extends (options: infer O) => unknown ? NonNullable<O> : never;

/**
 * `createEventBus` with the adapter's factory function itself, for an adapter
 * used without registration: `{ adapter: createLoopbackBus, ...its options }`.
 * The options are typed by the function's parameter.
 */
export type AdapterConfig<F extends AdapterFactory> = { adapter: F; backend?: undefined } & CommonConfig &
  FactoryOptions<F>;
