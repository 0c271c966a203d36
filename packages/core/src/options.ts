import { ConfigError } from './errors.js';

/**
 * Every option name of `T` as a record of `true`. An adapter declares its
 * option names with it, so adding an option to the options interface without
 * listing it is a compile error (and so is listing one that does not exist).
 */
export type OptionNames<T> = { readonly [K in keyof Required<T>]: true };

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        previous + (a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1),
      );
      previous = current;
    }
  }
  return row[b.length] as number;
}

function suggestion(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * Throws `ConfigError` when `options` has a property that is not a known option
 * name: a misspelt option (`histroy`, `strams`) fails at start-up instead of
 * being ignored. `field` is the first unknown name (with `prefix`, e.g.
 * `streams[0].maxAge`); the message names every unknown one, suggests the
 * closest known name and lists them all. Values are never echoed. `what` names
 * the kind of name in the message (`stream setting`, `redis:// parameter`);
 * `hint` becomes the error's hint.
 */
export function rejectUnknownOptions(
  options: object | undefined,
  known: Readonly<Record<string, true>> | readonly string[],
  context: { backend?: string; prefix?: string; what?: string; hint?: string } = {},
): void {
  if (options === undefined || options === null || typeof options !== 'object') return;
  const names = Array.isArray(known) ? (known as readonly string[]) : Object.keys(known);
  const unknown = Object.keys(options).filter((key) => !names.includes(key));
  if (unknown.length === 0) return;
  const path = (name: string) => (context.prefix ? `${context.prefix}.${name}` : name);
  const close = unknown.map((name) => suggestion(name, names));
  const described = unknown
    .map((name, i) => (close[i] ? `"${name}" (did you mean "${close[i]}"?)` : `"${name}"`))
    .join(', ');
  // every unknown name is a likely typo: the fix is the spelling, not the context's general advice
  const typos = close.every((c) => c !== undefined);
  throw new ConfigError(
    path(unknown[0] as string),
    `unknown ${context.what ?? 'option'}${unknown.length > 1 ? 's' : ''} ${described}; known: ${names.join(', ')}`,
    {
      backend: context.backend,
      hint: typos
        ? `write ${unknown.map((name, i) => `"${close[i]}" for "${name}"`).join(', ')}`
        : context.hint,
    },
  );
}
