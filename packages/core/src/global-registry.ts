/**
 * A process-wide list (listeners of every bus, interceptors of every bus) shared by every copy of
 * `@omnibus/core` that is loaded (kept on `globalThis` under a `Symbol.for` key), and the buses'
 * holders that read it. A holder keeps a plain `active` flag for its hot path; the registry tells
 * the live holders when its list changes (they are held weakly: a bus that is gone costs nothing).
 */
export interface GlobalList<T> {
  list: readonly T[];
  readonly holders: Set<WeakRef<{ refresh(): void }>>;
  /** Takes a collected holder's reference out of `holders` (a bus that is gone costs nothing). */
  readonly finalizer: FinalizationRegistry<WeakRef<{ refresh(): void }>>;
}

export function globalList<T>(key: string): GlobalList<T> {
  const holder = globalThis as unknown as Record<symbol, GlobalList<T> | undefined>;
  const symbol = Symbol.for(key);
  let registry = holder[symbol];
  if (!registry) {
    const holders = new Set<WeakRef<{ refresh(): void }>>();
    registry = { list: [], holders, finalizer: new FinalizationRegistry((ref) => holders.delete(ref)) };
    holder[symbol] = registry;
  }
  return registry;
}

/** Adds `item` to a global list (and tells the holders); returns a function that removes it. */
export function addGlobal<T>(registry: GlobalList<T>, item: T): () => void {
  registry.list = [...registry.list, item];
  refreshHolders(registry);
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    registry.list = withoutOne(registry.list, item);
    refreshHolders(registry);
  };
}

/** Registers a bus's holder, told when the list changes. */
export function holdGlobal<T>(registry: GlobalList<T>, holder: { refresh(): void }): void {
  const ref = new WeakRef(holder);
  registry.holders.add(ref);
  registry.finalizer.register(holder, ref);
}

/** `list` without one occurrence of `item` (the same item added twice is removed once per removal). */
export function withoutOne<T>(list: readonly T[], item: T): readonly T[] {
  const i = list.indexOf(item);
  return i < 0 ? list : [...list.slice(0, i), ...list.slice(i + 1)];
}

function refreshHolders<T>(registry: GlobalList<T>): void {
  for (const ref of registry.holders) {
    const holder = ref.deref();
    if (holder) holder.refresh();
    else registry.holders.delete(ref);
  }
}

/**
 * A bus's own items and the process's (a `GlobalList`), with a plain `active` flag for the hot
 * paths: true when either has an item. The registry refreshes it when the process's list changes.
 */
export class OwnAndGlobal<T> {
  readonly #global: GlobalList<T>;
  #own: readonly T[] = [];
  /** Whether any item is installed, this bus's or the process's. */
  active = false;

  constructor(global: GlobalList<T>) {
    this.#global = global;
    holdGlobal(global, this);
    this.refresh();
  }

  /** Recomputes `active` (the process's list changed, or this bus's). */
  refresh(): void {
    this.active = this.#own.length > 0 || this.#global.list.length > 0;
  }

  /** Adds one of this bus's own; returns a function that removes it (once). */
  add(item: T): () => void {
    this.#own = [...this.#own, item];
    this.refresh();
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      this.#own = withoutOne(this.#own, item);
      this.refresh();
    };
  }

  /** The process's items, then this bus's. */
  all(): readonly T[] {
    const global = this.#global.list;
    return global.length === 0 ? this.#own : this.#own.length === 0 ? global : [...global, ...this.#own];
  }
}
