import { ConfigError, type EventBus, rejectUnknownOptions, type UrlOptions } from '@omnibus/core';
import { BUILT_IN_ADAPTERS } from './built-in-adapters.js';

/**
 * An adapter's factory function, as the factory calls it: the adapter's options
 * in, a connected bus out (`createMemoryBus`, `createNatsBus`, a third party's).
 * `O` is its options type (`never` accepts any one-argument factory).
 */
export type AdapterFactory<O = never> = (options: O) => EventBus | Promise<EventBus>;

/**
 * What an adapter's `parseUrl` makes of `OMNIBUS_URL`: the options it sets, and —
 * when they came from query parameters read with `readUrlParameters` of
 * `@omnibus/core` — which parameter set each (`fromUrl`). With `fromUrl`, an
 * option set both in the URL and in the code is a `ConfigError` naming the
 * parameter, and an adapter's error about an option is renamed after the
 * parameter (`OMNIBUS_URL.maxAgeMs`).
 */
export interface UrlReading {
  readonly options: Record<string, unknown>;
  readonly fromUrl?: UrlOptions;
}

/**
 * How the factory finds an adapter: `registerAdapter(registration)` makes
 * `createEventBus({ backend: name })` and `OMNIBUS_URL=<scheme>://…` select it.
 * The four `@omnibus` adapters are registered the same way.
 *
 * @example
 * registerAdapter({
 *   name: 'loopback',
 *   schemes: ['loopback'],
 *   packageName: 'omnibus-adapter-loopback',
 *   load: async () => (await import('omnibus-adapter-loopback')).createLoopbackBus,
 * });
 */
export interface AdapterRegistration {
  /**
   * The backend name: `createEventBus({ backend: name })`, and the block of the
   * adapter's options in `createEventBusFromEnv({ [name]: { … } })`. Lowercase
   * letters, digits and `-`, starting with a letter.
   */
  readonly name: string;
  /** URL schemes that select it in `OMNIBUS_URL`, written without `://`: `['mybus', 'mybus+tls']`. */
  readonly schemes: readonly string[];
  /**
   * Returns the adapter's factory function, typically by a dynamic `import()` of
   * its package, so the package loads only when selected. Write the `import()`
   * in your own module (the registration), not a name for the factory to import:
   * it then resolves from where your package is installed.
   */
  readonly load: () => AdapterFactory | Promise<AdapterFactory>;
  /** The npm package, named by `AdapterNotInstalledError` when `load` cannot find it. */
  readonly packageName?: string;
  /**
   * Turns `OMNIBUS_URL` into options. Default: `{ options: { url } }` once the URL
   * parses — the adapter reads the URL, query parameters included, itself.
   */
  readonly parseUrl?: (url: string) => UrlReading;
  /**
   * The option by which code hands the adapter an existing connection (`client`):
   * with it set in `createEventBusFromEnv`'s block, `OMNIBUS_URL` must name the
   * scheme alone (`mybus://`), since a server there would be ignored.
   */
  readonly connectionOption?: string;
  /**
   * Whether the adapter takes the `onStatus` hook (default true). `false` for an
   * adapter without a connection to report on, which refuses `onStatus`: the
   * factory then leaves it out.
   */
  readonly reportsStatus?: boolean;
}

/** What `registeredAdapters()` lists of each adapter. */
export interface RegisteredAdapter {
  readonly name: string;
  readonly schemes: readonly string[];
  readonly packageName: string | undefined;
}

/** Names the `createEventBusFromEnv` options take for themselves: not backend names. */
export const RESERVED_NAMES: readonly string[] = ['env', 'logger', 'onStatus', 'require'];

const REGISTRATION_KEYS: readonly (keyof AdapterRegistration)[] = [
  'name',
  'schemes',
  'load',
  'packageName',
  'parseUrl',
  'connectionOption',
  'reportsStatus',
];

const registrations = new Map<string, AdapterRegistration>();

function checkType(registration: AdapterRegistration, key: keyof AdapterRegistration, type: string): void {
  const value = registration[key];
  if (value !== undefined && typeof value !== type)
    throw new ConfigError(key, `must be a ${type}`, { backend: registration.name });
}

function schemesOf(registration: AdapterRegistration): string[] {
  const { schemes, name } = registration;
  if (!Array.isArray(schemes) || schemes.length === 0)
    throw new ConfigError('schemes', 'must be a non-empty list of URL schemes, e.g. ["mybus"]', {
      backend: name,
    });
  return schemes.map((scheme: unknown, i) => {
    const text = typeof scheme === 'string' ? scheme.toLowerCase() : '';
    if (/^[a-z][a-z0-9+.-]*$/.test(text)) return text;
    const bare = typeof scheme === 'string' ? scheme.replace(/:(\/\/)?$/, '') : '';
    throw new ConfigError(
      `schemes[${i}]`,
      'must be a URL scheme: a letter, then letters, digits, +, - or .',
      {
        backend: name,
        hint:
          bare !== scheme && /^[a-z][a-z0-9+.-]*$/i.test(bare)
            ? `write the scheme alone: '${bare}', without ':' or '://'`
            : undefined,
      },
    );
  });
}

function sameAdapter(a: AdapterRegistration, b: AdapterRegistration, schemes: readonly string[]): boolean {
  return (
    a.packageName === b.packageName &&
    a.schemes.length === schemes.length &&
    a.schemes.every((scheme, i) => scheme === schemes[i])
  );
}

/**
 * Makes an adapter selectable by name (`createEventBus({ backend: name })`) and by
 * its URL schemes (`OMNIBUS_URL=mybus://…`); returns a function that unregisters
 * it. Throws `ConfigError` for a malformed registration, or a name or scheme that
 * another adapter has (with a hint). Registering the same adapter again — same
 * name, schemes and package, as a second copy of its package does — keeps the first
 * registration (the repeat's `load` is not used) and counts it: the adapter stays until
 * every registration of it was undone (a built-in one never is). For typed options, the adapter also
 * adds them to `BackendOptionsRegistry` of `@omnibus/core` (see the README).
 */
export function registerAdapter(registration: AdapterRegistration): () => void {
  if (registration === null || typeof registration !== 'object' || Array.isArray(registration))
    throw new ConfigError('registration', 'must be an object { name, schemes, load }');
  rejectUnknownOptions(registration, REGISTRATION_KEYS as string[], { what: 'registration field' });
  const { name } = registration;
  if (typeof name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(name))
    throw new ConfigError('name', 'must be lowercase letters, digits or -, starting with a letter', {
      hint: 'e.g. name: "mybus"',
    });
  if (RESERVED_NAMES.includes(name))
    throw new ConfigError('name', `"${name}" is an option of createEventBusFromEnv, not a backend name`, {
      hint: 'choose another name',
    });
  if (typeof registration.load !== 'function')
    throw new ConfigError('load', 'must be a function returning the adapter factory', {
      backend: name,
      hint: "e.g. load: async () => (await import('my-adapter')).createMyBus",
    });
  checkType(registration, 'parseUrl', 'function');
  checkType(registration, 'packageName', 'string');
  checkType(registration, 'connectionOption', 'string');
  checkType(registration, 'reportsStatus', 'boolean');
  const schemes = schemesOf(registration);
  const existing = registrations.get(name);
  if (existing !== undefined) {
    if (sameAdapter(existing, registration, schemes)) {
      // a second copy of the same package: counted, so that its unregister leaves the first one's
      holders.set(existing, (holders.get(existing) ?? 1) + 1);
      return once(() => unregister(existing));
    }
    throw new ConfigError('name', `the backend "${name}" is already registered${from(existing)}`, {
      backend: name,
      hint: 'choose another name for this adapter',
    });
  }
  for (const [i, scheme] of schemes.entries()) {
    const owner = [...registrations.values()].find((other) => other.schemes.includes(scheme));
    if (owner !== undefined)
      throw new ConfigError(`schemes[${i}]`, `${scheme}:// already selects the ${owner.name} backend`, {
        backend: name,
        hint: 'choose another scheme: each scheme selects one adapter',
      });
  }
  const stored: AdapterRegistration = Object.freeze({ ...registration, schemes: Object.freeze(schemes) });
  registrations.set(name, stored);
  return once(() => unregister(stored));
}

/** How many registrations hold each stored one (absent: one). */
const holders = new WeakMap<AdapterRegistration, number>();

/** `fn` the first time, nothing after: an unregister called twice counts once. */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

function unregister(registration: AdapterRegistration): void {
  const held = holders.get(registration) ?? 1;
  if (held > 1) {
    holders.set(registration, held - 1);
    return;
  }
  holders.delete(registration);
  if (registrations.get(registration.name) === registration) registrations.delete(registration.name);
}

function from(registration: AdapterRegistration): string {
  return registration.packageName === undefined ? '' : ` (by ${registration.packageName})`;
}

/** The registration of the backend called `name`, if any. */
export function adapterNamed(name: unknown): AdapterRegistration | undefined {
  return typeof name === 'string' ? registrations.get(name) : undefined;
}

/** The registration whose scheme `url` starts with, if any. */
export function adapterOfUrl(url: string): AdapterRegistration | undefined {
  const trimmed = url.trim();
  const colon = trimmed.indexOf(':');
  if (colon <= 0) return undefined;
  const scheme = trimmed.slice(0, colon).toLowerCase();
  return [...registrations.values()].find((registration) => registration.schemes.includes(scheme));
}

/** Every registered adapter — the four `@omnibus` ones first — with its schemes and package. */
export function registeredAdapters(): readonly RegisteredAdapter[] {
  return [...registrations.values()].map(({ name, schemes, packageName }) => ({
    name,
    schemes,
    packageName,
  }));
}

for (const registration of BUILT_IN_ADAPTERS) registerAdapter(registration);
