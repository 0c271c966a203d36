// `EventBus`, `Subscription` and `Consumer` are `AsyncDisposable` (`await using bus = …`). Those
// names come from TypeScript's `esnext.disposable` library, which a default configuration leaves
// out on TypeScript 6 and 7 (and any `lib` or `target` below `esnext` does): our public types
// would then not compile (TS2304 `AsyncDisposable`, TS2550 `Symbol.asyncDispose`) unless
// `skipLibCheck` hid it, and `await using` would not either (TS2318). Declaring them here — the
// declarations of that library and of `@types/node`, with which they merge — makes them compile
// with any configuration. Node.js ≥ 20.4 has both symbols at run time (the engines floor is 20.19).
declare global {
  interface SymbolConstructor {
    /** The method `using` calls when the scope ends. */
    readonly dispose: unique symbol;
    /** The method `await using` calls when the scope ends. */
    readonly asyncDispose: unique symbol;
  }
  interface Disposable {
    [Symbol.dispose](): void;
  }
  interface AsyncDisposable {
    [Symbol.asyncDispose](): PromiseLike<void>;
  }
}

export {};
