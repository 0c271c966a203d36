/**
 * Imports an optional benchmark peer (a client this kit lists as an optional or bench-only
 * dependency) from the kit's own location, so a bench part in another package can use it
 * without depending on it. Resolves with the module, or with the reason it is not there (not
 * installed: an optional dependency whose native build was skipped).
 */
export async function importPeer<T>(specifier: string): Promise<{ module: T } | { missing: string }> {
  try {
    return { module: (await import(specifier)) as T };
  } catch (error) {
    return {
      missing: `${specifier} is not installed (${(error as Error)?.message?.split('\n')[0] ?? error})`,
    };
  }
}
