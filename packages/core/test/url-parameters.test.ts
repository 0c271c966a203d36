// URL query parameters → adapter options: names checked with a "did you mean", values read by type,
// one place per option, and errors of a checker renamed after the parameter that set the option.
import { describe, expect, it } from 'vitest';
import {
  AdapterNotInstalledError,
  blameUrlParameters,
  ConfigError,
  mergeUrlOptions,
  readUrlParameters,
  renameConfigField,
  type UrlParameters,
} from '../src/index.js';

const parameters: UrlParameters = {
  keyPrefix: { type: 'text' },
  durable: { type: 'boolean' },
  blockMs: { type: 'integer' },
  trimMaxLen: { option: 'trim.maxLen', type: 'integer' },
  stream: {
    option: 'streams',
    type: (text, previous) => {
      if (!text.includes(':')) throw new Error('must be NAME:subject');
      return [...((previous as string[] | undefined) ?? []), text];
    },
  },
};
const context = { field: 'url', scheme: 'redis://', backend: 'redis', hint: 'client options go elsewhere' };
const read = (query: string) => readUrlParameters(new URLSearchParams(query), parameters, context);

function thrown(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('readUrlParameters', () => {
  it('reads each type into the option its path names, and says which parameter set it', () => {
    const { options, sources } = read(
      'keyPrefix=app&durable=true&blockMs=-5&trimMaxLen=10&stream=A:a&stream=B:b',
    );
    expect(options).toEqual({
      keyPrefix: 'app',
      durable: true,
      blockMs: -5, // ranges are the adapter's to check
      trim: { maxLen: 10 },
      streams: ['A:a', 'B:b'],
    });
    expect([...sources]).toEqual([
      ['keyPrefix', 'keyPrefix'],
      ['durable', 'durable'],
      ['blockMs', 'blockMs'],
      ['trim.maxLen', 'trimMaxLen'],
      ['streams', 'stream'],
    ]);
  });

  it('an unknown parameter names it under the field, suggests the closest name, lists the known ones', () => {
    const error = thrown(() => read('keyprefix=secret-value'));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.field).toBe('url.keyprefix');
    expect(error.message).toContain('unknown redis:// parameter "keyprefix" (did you mean "keyPrefix"?)');
    expect(error.message).toContain('known: keyPrefix, durable, blockMs, trimMaxLen, stream');
    expect(error.message).not.toContain('secret-value');
    expect(error.hint).toBe('write "keyPrefix" for "keyprefix"'); // a typo: the spelling, not the general advice
    expect(error.backend).toBe('redis');
    expect(thrown(() => read('enableOfflineQueue=1')).hint).toBe('client options go elsewhere');
  });

  it('a value that does not read is a ConfigError naming the parameter', () => {
    expect(thrown(() => read('blockMs=soon')).field).toBe('url.blockMs');
    expect(thrown(() => read('blockMs=1.5')).message).toContain('url.blockMs: must be an integer');
    expect(thrown(() => read('durable=yes')).message).toContain('url.durable: must be true or false');
    expect(thrown(() => read('stream=A:a&stream=nocolon')).message).toContain(
      'url.stream: must be NAME:subject',
    );
  });
});

describe('readUrlParameters: repeats and sizes', () => {
  it('a parameter given twice is refused unless its reader collects repeats (stream=)', () => {
    const twice = thrown(() => read('blockMs=100&blockMs=5000'));
    expect(twice.field).toBe('url.blockMs');
    expect(twice.message).toContain('given twice');
    expect(read('stream=A:a.>&stream=B:b.>').options).toEqual({ streams: ['A:a.>', 'B:b.>'] });
  });

  it('an integer past 2^53 is refused: it would not be the number written', () => {
    expect(thrown(() => read('blockMs=99999999999999999999999')).field).toBe('url.blockMs');
    expect(read('blockMs=9007199254740991').options).toEqual({ blockMs: 9007199254740991 });
  });
});

describe('mergeUrlOptions', () => {
  it('adds the URL options to the explicit ones, merging nested objects without touching the caller’s', () => {
    const explicit = { trim: { approximate: true }, blockMs: undefined, logger: console };
    const merged = mergeUrlOptions(read('trimMaxLen=5&blockMs=20'), explicit, context);
    expect(merged).toEqual({ trim: { approximate: true, maxLen: 5 }, blockMs: 20, logger: console });
    expect(explicit.trim).toEqual({ approximate: true });
  });

  it('an option set by both is a ConfigError naming the parameter, never choosing one silently', () => {
    const error = thrown(() => mergeUrlOptions(read('trimMaxLen=5'), { trim: { maxLen: 9 } }, context));
    expect(error.field).toBe('url.trimMaxLen');
    expect(error.message).toContain('also set as the trim.maxLen option');
    const named = thrown(() =>
      mergeUrlOptions(
        read('keyPrefix=a'),
        { keyPrefix: 'b' },
        { ...context, field: 'OMNIBUS_URL', explicitName: 'redis' },
      ),
    );
    expect(named.field).toBe('OMNIBUS_URL.keyPrefix');
    expect(named.message).toContain('also set as redis.keyPrefix');
  });
});

describe('naming the parameter behind a refused option', () => {
  it('blameUrlParameters renames a checker’s error about an option the URL set, or inside it', () => {
    const fromUrl = read('blockMs=1&stream=A:a');
    const check = (field: string) => () =>
      blameUrlParameters(fromUrl, context, () => {
        throw new ConfigError(field, 'must be an integer ≥ 10', { backend: 'redis', hint: 'h' });
      });
    const error = thrown(check('blockMs'));
    expect(error.field).toBe('url.blockMs');
    expect(error.message).toBe('[omnibus:redis] url.blockMs: must be an integer ≥ 10');
    expect(error.hint).toBe('h');
    expect(thrown(check('streams[0].subjects')).field).toBe('url.stream');
    expect(thrown(check('keyPrefix')).field).toBe('keyPrefix'); // not from the URL
  });

  it('renameConfigField knows a ConfigError of another copy of core by its code, and leaves other errors', () => {
    const foreign = Object.assign(new Error('[omnibus:nats] url: cannot parse server 1'), {
      code: 'CONFIG',
      field: 'url',
      backend: 'nats',
    });
    const renamed = renameConfigField(foreign, () => 'OMNIBUS_URL') as ConfigError;
    expect(renamed).toBeInstanceOf(ConfigError);
    expect(renamed.message).toBe('[omnibus:nats] OMNIBUS_URL: cannot parse server 1');
    const other = new Error('boom');
    expect(renameConfigField(other, () => 'x')).toBe(other);
    expect(renameConfigField(foreign, () => undefined)).toBe(foreign);
  });
});

describe('AdapterNotInstalledError', () => {
  it('takes a hint with more to say than the command', () => {
    const error = new AdapterNotInstalledError('nats', '@omnibus/nats', { hint: 'pack it first' });
    expect(error.hint).toBe('pack it first');
    expect(error.installCommand).toBe('npm install @omnibus/nats');
  });
});
