import { describe, expect, it } from 'vitest';
import { queryStart } from '../src/url-authority.js';

describe('queryStart', () => {
  it('finds the query after the credentials, never inside them', () => {
    expect(queryStart('nats://h:4222')).toBe(-1);
    expect(queryStart('nats://h:4222?a=1')).toBe(13);
    expect(queryStart('nats://a:4222,nats://b:4222?a=1')).toBe(27);
    // a raw "?" in a password is no query
    expect(queryStart('nats://user:12?ab@h:4222')).toBe(-1);
    expect(queryStart('nats://user:12?ab@h:4222?a=1')).toBe(24);
  });
});
