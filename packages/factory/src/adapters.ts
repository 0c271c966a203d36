/** How the factory finds an adapter: its npm package and the factory function it exports. */
export interface AdapterEntry {
  readonly packageName: string;
  readonly factory: string;
  /** URL schemes (with the colon) that select this backend in `OMNIBUS_URL`. */
  readonly schemes: readonly string[];
}

/**
 * The name map: backend name → adapter package. Adapters are optional peer
 * dependencies, loaded with `import()` only when selected. A test keeps this map
 * and the workspace's adapter packages in agreement.
 */
export const adapters = {
  memory: { packageName: '@omnibus/memory', factory: 'createMemoryBus', schemes: ['memory:'] },
  nats: { packageName: '@omnibus/nats', factory: 'createNatsBus', schemes: ['nats:', 'tls:'] },
  redis: { packageName: '@omnibus/redis', factory: 'createRedisBus', schemes: ['redis:', 'rediss:'] },
  kafka: { packageName: '@omnibus/kafka', factory: 'createKafkaBus', schemes: ['kafka:', 'kafka+ssl:'] },
} as const satisfies Record<string, AdapterEntry>;

/** A backend the factory knows by name. */
export type BackendName = keyof typeof adapters;

/** True when `name` is in the name map. */
export function isBackendName(name: unknown): name is BackendName {
  return typeof name === 'string' && Object.hasOwn(adapters, name);
}
