import { OmnibusError, PublishError } from '@omnibus/core';
import { describe, expect, it } from 'vitest';
import { describeRejections, rejectionKey } from '../src/load.js';

describe('rejectionKey', () => {
  it('keeps the code and what the message says, without backend prefix, subjects and ids', () => {
    const a = new PublishError('publish to "outage.p3" failed: no acknowledgement within 30000 ms', {
      backend: 'kafka',
    });
    const b = new PublishError('publish to "outage.p7" failed: no acknowledgement within 30000 ms', {
      backend: 'kafka',
    });
    expect(rejectionKey(a)).toBe('PUBLISH_FAILED: publish to … failed: no acknowledgement within 30000 ms');
    expect(rejectionKey(b)).toBe(rejectionKey(a));
  });

  it('names untyped errors by their name', () => {
    expect(rejectionKey(new TypeError('boom'))).toBe('TypeError: boom');
    expect(rejectionKey('text')).toBe('unknown: text');
    expect(rejectionKey(new OmnibusError('TIMEOUT', 'x'))).toBe('TIMEOUT: x');
  });

  it('describes counts for a note', () => {
    expect(
      describeRejections(
        new Map([
          ['A: a', 2],
          ['B: b', 1],
        ]),
      ),
    ).toBe('2 × A: a, 1 × B: b');
  });
});
