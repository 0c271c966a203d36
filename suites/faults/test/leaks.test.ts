import { describe, expect, it } from 'vitest';
import { LeakCheck } from '../src/leaks.js';

describe('LeakCheck', () => {
  const secret = 'hunter2-5e3f';

  it('finds a secret in a message, a stack or anywhere down the cause chain', () => {
    const leaks = new LeakCheck();
    leaks.addError('clean', new Error('cannot connect to redis://***@host:6379'));
    expect(leaks.find([secret])).toEqual([]);
    const inCause = new Error('cannot connect', { cause: new Error(`auth ${secret} refused`) });
    leaks.addError('cause', inCause);
    expect(leaks.find([secret])).toContain('cause (inspect)');
  });

  it('finds a secret in an own field of an error that neither message nor stack shows', () => {
    const leaks = new LeakCheck();
    const error = Object.assign(new Error('refused'), { config: { password: secret } });
    leaks.addError('field', error);
    expect(leaks.find([secret])).toEqual(['field (inspect)', 'field (JSON)']);
  });

  it('records log lines at every level and status reports', () => {
    const leaks = new LeakCheck();
    const logger = leaks.logger('bus');
    logger.warn('connection lost');
    logger.info?.(`url nats://${secret}@host`);
    leaks.statusHook('bus')({ type: 'error', detail: secret });
    expect(leaks.size).toBe(3);
    expect(leaks.find([secret])).toEqual(['bus log (info)', 'bus status']);
  });

  it('ignores empty secrets', () => {
    const leaks = new LeakCheck();
    leaks.add('x', 'anything');
    expect(leaks.find(['', 'absent'])).toEqual([]);
  });
});
