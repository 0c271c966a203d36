import { describe, expect, it } from 'vitest';
import {
  AdapterNotInstalledError,
  ConfigError,
  ConnectionError,
  formatError,
  type OptionNames,
  redact,
  rejectUnknownOptions,
} from '../src/index.js';

describe('redaction of credentials written without a URL scheme', () => {
  it('removes user:password@ and token@host:port', () => {
    expect(redact('bob:hunter2@127.0.0.1:4222')).toBe('***@127.0.0.1:4222');
    expect(redact('unknown scheme in bob:hunter2@127.0.0.1:4222; expected nats://')).not.toContain('hunter2');
    expect(redact('cannot reach s3cr3tt0ken@10.0.0.1:4222')).toBe('cannot reach ***@10.0.0.1:4222');
    expect(redact('{"user":"bob","password":"hunter2","token": "t0k"}')).not.toMatch(/hunter2|t0k/);
    expect(redact('Authorization: Bearer abcdefgh12345678')).toBe('Authorization: Bearer ***');
  });

  it('leaves ordinary text alone', () => {
    for (const text of [
      'orders.eu.created',
      'at 12:30 write to ops@example.com',
      'field connectOptions.pass: must be a string',
    ])
      expect(redact(text)).toBe(text);
  });

  it('applies to ConfigError messages and hints', () => {
    const error = new ConfigError('OMNIBUS_URL', 'unknown scheme in bob:hunter2@127.0.0.1:4222', {
      hint: 'try nats://bob:hunter2@127.0.0.1:4222',
    });
    expect(error.message).not.toContain('hunter2');
    expect(error.hint).not.toContain('hunter2');
    expect(formatError(error, { stack: true })).not.toContain('hunter2');
  });
});

describe('AdapterNotInstalledError', () => {
  it('names the backend and the install command', () => {
    const error = new AdapterNotInstalledError('nats', '@omnibus/nats', {
      installCommand: 'yarn add @omnibus/nats',
    });
    expect(error.backend).toBe('nats');
    expect(error.code).toBe('ADAPTER_NOT_INSTALLED');
    expect(error.packageName).toBe('@omnibus/nats');
    expect(error.installCommand).toBe('yarn add @omnibus/nats');
    expect(error.hint).toBe('install it: yarn add @omnibus/nats');
    expect(error.message).not.toContain('undefined');
  });

  it('defaults to a neutral npm command', () => {
    expect(new AdapterNotInstalledError('kafka', '@omnibus/kafka').installCommand).toBe(
      'npm install @omnibus/kafka',
    );
  });
});

describe('formatError', () => {
  it('renders an OmnibusError as one line: name, code, message, hint', () => {
    const cause = new Error('connect ECONNREFUSED nats://bob:hunter2@127.0.0.1:4222\n    at internal');
    const error = new ConnectionError('cannot connect to nats://127.0.0.1:4222', {
      backend: 'nats',
      cause,
      hint: 'is nats-server running?',
    });
    const line = formatError(error);
    expect(line).toBe(
      'ConnectionError CONNECTION: [omnibus:nats] cannot connect to nats://127.0.0.1:4222 (hint: is nats-server running?)',
    );
    expect(line).not.toContain('\n');
  });

  it('adds the stack and redacted causes only when asked', () => {
    const cause = new Error('auth failed for nats://bob:hunter2@h:4222');
    const text = formatError(new ConnectionError('cannot connect', { cause }), { stack: true });
    expect(text.split('\n').length).toBeGreaterThan(2);
    expect(text).toContain('caused by: Error: auth failed for nats://***@h:4222');
    expect(text).not.toContain('hunter2');
  });

  it('renders other errors and values redacted', () => {
    expect(formatError(new TypeError('bad nats://u:p@h'))).toBe('TypeError: bad nats://***@h');
    expect(formatError('plain')).toBe('plain');
  });
});

describe('rejectUnknownOptions', () => {
  interface Options {
    history?: boolean;
    maxBuffered?: number;
  }
  const names: OptionNames<Options> = { history: true, maxBuffered: true };

  it('accepts known names', () => {
    expect(() => rejectUnknownOptions({ history: true }, names)).not.toThrow();
    expect(() => rejectUnknownOptions(undefined, names)).not.toThrow();
  });

  it('throws ConfigError naming every unknown option, with a suggestion, never the value', () => {
    const error = (() => {
      try {
        rejectUnknownOptions({ histroy: 'hunter2', colour: 1 }, names, { backend: 'memory' });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.field).toBe('histroy');
    expect(error?.backend).toBe('memory');
    expect(error?.message).toContain('"histroy" (did you mean "history"?)');
    expect(error?.message).toContain('"colour"');
    expect(error?.message).not.toContain('hunter2');
  });

  it('a likely typo gets the spelling as its hint, instead of the general advice', () => {
    const typo = (() => {
      try {
        rejectUnknownOptions({ keyprefix: 'x' }, ['keyPrefix', 'durable'], {
          hint: 'client options go elsewhere',
        });
      } catch (error) {
        return error as ConfigError;
      }
    })();
    expect(typo?.hint).toBe('write "keyPrefix" for "keyprefix"');
    const unknown = (() => {
      try {
        rejectUnknownOptions({ enableOfflineQueue: true }, ['keyPrefix'], {
          hint: 'client options go elsewhere',
        });
      } catch (error) {
        return error as ConfigError;
      }
    })();
    expect(unknown?.hint).toBe('client options go elsewhere');
  });

  it('prefixes nested fields', () => {
    expect(() => rejectUnknownOptions({ maxAge: 1 }, ['maxAgeMs'], { prefix: 'streams[0]' })).toThrow(
      expect.objectContaining({ field: 'streams[0].maxAge' }),
    );
  });
});
