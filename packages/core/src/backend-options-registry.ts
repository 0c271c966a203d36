/**
 * The options of each adapter, by backend name — filled by the adapters
 * themselves through module augmentation, so a package that reads it (such as
 * `@omnibus/factory`, whose `EventBusConfig` is derived from it) names no adapter
 * and needs none installed. An adapter adds its entry in its own types:
 *
 * ```ts
 * declare module '@omnibus/core' {
 *   interface BackendOptionsRegistry {
 *     loopback: LoopbackBusOptions; // createEventBus({ backend: 'loopback', ... })
 *   }
 * }
 * ```
 *
 * An entry is visible wherever the adapter's types are part of the program: any
 * import from the adapter package, or `import type {} from '<package>'`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by module augmentation, one entry per adapter
export interface BackendOptionsRegistry {}
