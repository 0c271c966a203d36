import { ConfigError } from './errors.js';
import { rejectUnknownOptions } from './options.js';

/** How one query parameter of a connection URL turns into an adapter option. */
export interface UrlParameter {
  /** The option it sets, as a dotted path (`blockMs`, `trim.maxLen`). Default: the parameter's own name. */
  readonly option?: string;
  /**
   * How its text is read: `'text'` as written, `'integer'` (digits, with an
   * optional `-`), `'boolean'` (`true` or `false`), or a function returning the
   * option's value. The function gets the value read so far (for a parameter that
   * may repeat) and throws an `Error` whose message says what is expected.
   * Ranges are left to the adapter's option checks: their errors are renamed
   * after the parameter by {@link blameUrlParameters}.
   */
  readonly type: 'text' | 'integer' | 'boolean' | ((text: string, previous: unknown) => unknown);
}

/** The query parameters a URL scheme accepts, by name. */
export type UrlParameters = Readonly<Record<string, UrlParameter>>;

/** Where URL parameters come from, for error messages. */
export interface UrlParameterContext {
  /** Prefix of the `ConfigError` field: `url` (an adapter's option) or `OMNIBUS_URL` (the factory). */
  readonly field: string;
  /** The scheme, as users write it: `redis://`. */
  readonly scheme: string;
  /** The backend, for the error's prefix. */
  readonly backend?: string;
  /** Added to the error about an unknown parameter, e.g. where client options go instead. */
  readonly hint?: string;
}

/** What a URL's query parameters set: the options, and which parameter set each. */
export interface UrlOptions {
  /** The options, nested as their paths say (`trim.maxLen` → `{ trim: { maxLen } }`). */
  readonly options: Record<string, unknown>;
  /** Option path → the parameter that set it. */
  readonly sources: ReadonlyMap<string, string>;
}

function read(text: string, parameter: UrlParameter, previous: unknown): unknown {
  const { type } = parameter;
  if (type === 'text') return text;
  if (type === 'integer') {
    if (!/^-?\d+$/.test(text.trim())) throw new Error('must be an integer');
    const n = Number(text);
    // past 2^53 a number is no longer the integer written (and no option here wants one that big)
    if (!Number.isSafeInteger(n)) throw new Error('must be an integer of at most 9007199254740991');
    return n;
  }
  if (type === 'boolean') {
    if (text !== 'true' && text !== 'false') throw new Error('must be true or false');
    return text === 'true';
  }
  return type(text, previous);
}

function getPath(target: Record<string, unknown>, path: string): unknown {
  let node: unknown = target;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Sets `path` in `target`, copying the objects on the way (the caller's objects stay as they are). */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const child = node[key];
    const copy = child !== null && typeof child === 'object' && !Array.isArray(child) ? { ...child } : {};
    node[key] = copy;
    node = copy as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

/**
 * Reads a URL's query parameters into adapter options. An unknown parameter is
 * a `ConfigError` naming it (`url.keyprefix`, with a "did you mean" suggestion
 * and the known names); a value that does not read is one too
 * (`url.blockMs: must be an integer`). Values are never echoed.
 */
export function readUrlParameters(
  query: URLSearchParams,
  parameters: UrlParameters,
  context: UrlParameterContext,
): UrlOptions {
  const names: Record<string, true> = {};
  for (const name of query.keys()) names[name] = true;
  rejectUnknownOptions(names, Object.keys(parameters), {
    backend: context.backend,
    prefix: context.field,
    what: `${context.scheme} parameter`,
    hint: context.hint,
  });
  const options: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  const given = new Set<string>();
  for (const [name, text] of query) {
    const parameter = parameters[name] as UrlParameter;
    // only a parameter with a reader of its own may repeat (`stream=`): `a=5&a=10` is no choice to make silently
    if (typeof parameter.type !== 'function' && given.has(name))
      throw new ConfigError(`${context.field}.${name}`, 'given twice: give it once', {
        backend: context.backend,
      });
    given.add(name);
    const path = parameter.option ?? name;
    let value: unknown;
    try {
      value = read(text, parameter, getPath(options, path));
    } catch (error) {
      throw new ConfigError(`${context.field}.${name}`, (error as Error).message, {
        backend: context.backend,
      });
    }
    setPath(options, path, value);
    sources.set(path, name);
  }
  return { options, sources };
}

/**
 * The explicit options with the URL's options added. An option both set is a
 * `ConfigError` naming the parameter (`url.keyPrefix: also set as the keyPrefix
 * option`): each option comes from one place, so neither silently wins.
 */
export function mergeUrlOptions<T extends object>(
  fromUrl: UrlOptions,
  explicit: T,
  context: UrlParameterContext & { readonly explicitName?: string },
): T {
  const merged = { ...explicit } as Record<string, unknown>;
  for (const [path, name] of fromUrl.sources) {
    if (getPath(explicit as Record<string, unknown>, path) !== undefined) {
      const option = context.explicitName ? `${context.explicitName}.${path}` : `the ${path} option`;
      throw new ConfigError(`${context.field}.${name}`, `also set as ${option}; set it in one place`, {
        backend: context.backend,
        hint: `remove ${name} from the URL or ${path} from the options`,
      });
    }
    setPath(merged, path, getPath(fromUrl.options, path));
  }
  return merged as T;
}

/**
 * A copy of a `ConfigError` that names `rename(field)` instead of its field (the
 * same message, hint, backend and cause); the error as it is when it is no
 * `ConfigError` or `rename` returns `undefined`. For a layer that knows better
 * than the code that refused an option where that option came from. Errors of
 * another copy of this package are recognised by their code.
 */
export function renameConfigField(error: unknown, rename: (field: string) => string | undefined): unknown {
  const e = error as { code?: unknown; field?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object' || e.code !== 'CONFIG' || typeof e.field !== 'string') return error;
  const field = rename(e.field);
  if (field === undefined || field === e.field) return error;
  const message = String(e.message);
  const at = message.indexOf(`${e.field}: `);
  const detail = at >= 0 ? message.slice(at + e.field.length + 2) : message;
  const { backend, hint, cause } = error as { backend?: string; hint?: string; cause?: unknown };
  return new ConfigError(field, detail, { backend, hint, cause });
}

/**
 * Runs `check` (an adapter's option validation); a `ConfigError` it throws about
 * an option the URL set (or something inside it: `streams[0].subjects` under
 * `streams`) is thrown again naming the parameter: `url.blockMs`.
 */
export function blameUrlParameters<T>(
  fromUrl: UrlOptions,
  context: { readonly field: string },
  check: () => T,
): T {
  try {
    return check();
  } catch (error) {
    throw renameConfigField(error, (field) => {
      const name = urlParameterOf(fromUrl, field);
      return name === undefined ? undefined : `${context.field}.${name}`;
    });
  }
}

/** The parameter that set the option `field` names (or the option `field` is inside), if a URL parameter did. */
export function urlParameterOf(fromUrl: UrlOptions, field: string): string | undefined {
  for (const [path, name] of fromUrl.sources) {
    if (field === path || field.startsWith(`${path}.`) || field.startsWith(`${path}[`)) return name;
  }
  return undefined;
}
