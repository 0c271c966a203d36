// What the CLI prints from the bus cannot drive the terminal: subjects, ids, headers, errors and
// payloads arrive from anyone who can publish.
import { describe, expect, it } from 'vitest';
import { headersInline, payloadPreview, printable, table, terminalSafe } from '../src/format.js';
import { Output } from '../src/io.js';

const plain = { bold: (t: string) => t } as never;
const ESC = '\x1b';

describe('terminal safety', () => {
  it('control characters from the bus are shown escaped, never sent to the terminal', () => {
    const hostile = `${ESC}]0;PWNED\x07${ESC}[2Jdone\r`;
    expect(printable(hostile)).toBe('\\x1b]0;PWNED\\x07\\x1b[2Jdone\\x0d');
    expect(printable('tab\tand ünïcödé 注文')).toBe('tab\tand ünïcödé 注文');
    expect(headersInline({ [`x${ESC}[8m`]: `${ESC}[8mhidden` })).toBe('x\\x1b[8m=\\x1b[8mhidden');
    const [, row] = table(
      [{ e: `boom ${ESC}[31mred` }],
      [{ header: 'E', cell: (r: { e: string }) => r.e }],
      plain,
    );
    expect(row).toBe('boom \\x1b[31mred');
    expect(terminalSafe(payloadPreview(new TextEncoder().encode(`a\u009b31mb`), 40))).toBe('a\\u009b31mb');
  });

  it('C1 controls and bidi overrides are escaped on every line, JSON lines keep their value', () => {
    const line = JSON.stringify({ subject: `a\u009b2Jb`, note: 'abc\u202Etxt.exe' });
    const safe = terminalSafe(line);
    expect(safe).not.toMatch(/[\u0080-\u009f\u202a-\u202e]/);
    expect(JSON.parse(safe)).toEqual(JSON.parse(line));
    let written = '';
    const sink = {
      write: (s: string) => {
        written += s;
      },
      isTTY: false,
    } as never;
    new Output({ stdout: sink, stderr: sink, stdin: undefined as never, env: {} }).line(`x\u2066y\u0085`);
    expect(written).toBe('x\\u2066y\\u0085\n');
  });
});
