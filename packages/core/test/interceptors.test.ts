import { afterEach, describe, expect, it } from 'vitest';
import {
  type BusInterceptor,
  createBus,
  InvalidArgumentError,
  intercept,
  interceptAll,
  type Message,
  observe,
  observeAll,
} from '../src/index.js';
import { inProcessDriver } from './support/in-process-driver.js';
import { waitFor } from './support/wait-for.js';

const removals: (() => void)[] = [];
afterEach(() => {
  for (const remove of removals.splice(0)) remove();
});

describe('interceptors', () => {
  it('a publish interceptor adds headers before anything is sent, and sees the receipts', async () => {
    const bus = createBus(inProcessDriver());
    const seen: string[] = [];
    removals.push(
      intercept(bus, {
        async publish(call, next) {
          for (const m of call.messages) m.setHeader('traceparent', `tp-${m.id}`);
          const receipts = await next();
          seen.push(`${call.batch ? 'batch' : 'one'}:${receipts.map((r) => r.id).join(',')}`);
          return receipts;
        },
      }),
    );
    const got: Message[] = [];
    await bus.consume('a.>', (m) => void got.push(m));
    await bus.publish('a.b', 'x', { id: 'm1', headers: { tenant: 'acme' } });
    await bus.publishBatch([
      { subject: 'a.c', payload: 'y', id: 'm2' },
      { subject: 'a.d', payload: 'z', id: 'm3' },
    ]);
    await waitFor(() => got.length === 3, 'three delivered');
    expect(got.map((m) => m.headers)).toEqual([
      { tenant: 'acme', traceparent: 'tp-m1' },
      { traceparent: 'tp-m2' },
      { traceparent: 'tp-m3' },
    ]);
    expect(seen).toEqual(['one:m1', 'batch:m2,m3']);
    await bus.close();
  });

  it('a header an interceptor sets is validated like any header: the publish fails, nothing sent', async () => {
    const bus = createBus(inProcessDriver());
    removals.push(
      intercept(bus, {
        publish(call, next) {
          call.messages[0]?.setHeader('bad header', 'x');
          return next();
        },
      }),
    );
    const events: string[] = [];
    observe(bus, (e) => events.push(e.type));
    await expect(bus.publish('a.b', 'x')).rejects.toThrow(InvalidArgumentError);
    expect(events).toEqual([]);
    expect(bus.stats().published).toBe(0);
    await bus.close();
  });

  it('a handle interceptor runs around each handler, sees its error, and the retry still happens', async () => {
    const bus = createBus(inProcessDriver());
    const calls: string[] = [];
    removals.push(
      intercept(bus, {
        async handle(call, next) {
          calls.push(`start ${call.subscription.pattern} #${call.message.attempt}`);
          try {
            return await next();
          } catch (error) {
            calls.push(`failed ${(error as Error).message}`);
            throw error;
          } finally {
            calls.push('end');
          }
        },
      }),
    );
    let attempts = 0;
    await bus.consume(
      'r.*',
      () => {
        attempts++;
        if (attempts === 1) throw new Error('first fails');
      },
      { backoff: 0 },
    );
    await bus.publish('r.x', 'x');
    await waitFor(() => attempts === 2 && calls.length === 5, 'the retry');
    expect(calls).toEqual(['start r.* #1', 'failed first fails', 'end', 'start r.* #2', 'end']);
    expect(bus.stats()).toMatchObject({ acked: 1, nakked: 1 });
    await bus.close();
  });

  it('interceptAll reaches buses created before and after it; removed, it is gone', async () => {
    const before = createBus(inProcessDriver());
    const names: string[] = [];
    const remove = interceptAll({
      publish(call, next) {
        names.push(call.messages[0]?.subject ?? '');
        return next();
      },
    });
    const after = createBus(inProcessDriver());
    await before.publish('p.one', 'x');
    await after.publish('p.two', 'x');
    remove();
    await after.publish('p.three', 'x');
    expect(names).toEqual(['p.one', 'p.two']);
    await before.close();
    await after.close();
  });

  it('interceptors nest in order: the process-wide ones outside, the bus’s own inside', async () => {
    const bus = createBus(inProcessDriver());
    const order: string[] = [];
    const tag =
      (name: string): BusInterceptor['publish'] =>
      async (_call, next) => {
        order.push(`${name} in`);
        const r = await next();
        order.push(`${name} out`);
        return r;
      };
    removals.push(interceptAll({ publish: tag('global') }), intercept(bus, { publish: tag('own') }));
    await bus.publish('n.x', 'x');
    expect(order).toEqual(['global in', 'own in', 'own out', 'global out']);
    await bus.close();
  });

  it('observeAll hears every bus, each event naming its backend; a throwing listener is counted', async () => {
    const a = createBus(inProcessDriver());
    const heard: string[] = [];
    removals.push(
      observeAll((e) => {
        if (e.type === 'published') heard.push(`${e.backend} ${e.message.subject}`);
      }),
      observeAll(() => {
        throw new Error('listener bug');
      }),
    );
    const b = createBus(inProcessDriver());
    await a.publish('o.a', 'x');
    await b.publish('o.b', 'x');
    expect(heard).toEqual([`${a.backend} o.a`, `${b.backend} o.b`]);
    expect(a.stats().errors).toBe(1);
    expect(() => observeAll('x' as unknown as () => void)).toThrow(/observeAll needs a listener function/);
    await a.close();
    await b.close();
  });

  it('refuses what is not an interceptor', () => {
    const bus = createBus(inProcessDriver());
    expect(() => intercept(bus, { publish: 5 } as unknown as BusInterceptor)).toThrow(InvalidArgumentError);
    expect(() => interceptAll(null as unknown as BusInterceptor)).toThrow(/optional publish and handle/);
    expect(() => intercept({}, {})).toThrow(/needs a bus built by createBus/);
  });
});
