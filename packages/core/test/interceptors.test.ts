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
    expect(events).toEqual(['publish-failed']);
    expect(bus.stats()).toMatchObject({ published: 0, errors: 1 });
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

  it('observe with { events }: only those types reach the listener, and none is built for nobody', async () => {
    const bus = createBus(inProcessDriver());
    const settledOnly: string[] = [];
    const everything: string[] = [];
    const stopSettled = observe(bus, (e) => settledOnly.push(e.type), { events: ['settled', 'handed-out'] });
    await bus.consume('ev.>', () => {});
    await bus.publish('ev.a', 'x');
    await waitFor(() => settledOnly.includes('settled'), 'the settle');
    expect(settledOnly).toEqual(['handed-out', 'settled']);
    const stopAll = observe(bus, (e) => everything.push(e.type));
    await bus.publish('ev.b', 'x');
    await waitFor(() => everything.includes('settled'), 'the second settle');
    expect([...everything].sort()).toEqual(['handed-out', 'published', 'received', 'settled']);
    expect(settledOnly).toEqual(['handed-out', 'settled', 'handed-out', 'settled']);
    stopAll();
    stopSettled();
    expect(() => observe(bus, () => {}, { events: ['publishd' as never] })).toThrow(InvalidArgumentError);
    expect(() => observeAll(() => {}, { events: 'settled' as never })).toThrow(/events must be a list/);
    await bus.close();
  });

  it('a publish interceptor that misbehaves cannot lose, double or half-send a publish', async () => {
    const bus = createBus(inProcessDriver());
    const got: string[] = [];
    await bus.consume('m.>', (m) => void got.push(m.text()));
    const use = (interceptor: BusInterceptor) => {
      const remove = intercept(bus, interceptor);
      removals.push(remove);
      return remove;
    };
    // no next(): nothing sent, a typed error
    let remove = use({ publish: async () => [] });
    await expect(bus.publish('m.a', 'lost?')).rejects.toThrow(
      /returned without calling next\(\): nothing was sent/,
    );
    remove();
    // next() twice: sent once, the receipts of that send
    remove = use({
      async publish(_call, next) {
        await next();
        return next();
      },
    });
    const twice = await bus.publish('m.b', 'once', { id: 'twice' });
    expect(twice.id).toBe('twice');
    remove();
    // throws after a send that worked: the publish stands, the fault is counted
    remove = use({
      async publish(_call, next) {
        await next();
        throw new Error('interceptor bug');
      },
    });
    const errorsBefore = bus.stats().errors;
    await expect(bus.publish('m.c', 'stands')).resolves.toMatchObject({ subject: 'm.c' });
    expect(bus.stats().errors).toBe(errorsBefore + 1);
    remove();
    // throws before: nothing sent, a PublishError with the cause
    remove = use({
      publish() {
        throw new Error('no way');
      },
    });
    await expect(bus.publish('m.d', 'never')).rejects.toMatchObject({ code: 'PUBLISH_FAILED' });
    // headers after the send cannot be changed; the headers view is a copy
    remove();
    let late: unknown;
    use({
      async publish(call, next) {
        const m = call.messages[0];
        expect(Object.isFrozen(m?.headers)).toBe(true);
        const r = await next();
        try {
          m?.setHeader('x-late', 'y');
        } catch (error) {
          late = error;
        }
        return r;
      },
    });
    await bus.publish('m.e', 'clean');
    expect(late).toBeInstanceOf(InvalidArgumentError);
    await waitFor(() => got.length === 3, 'three delivered');
    expect(got.sort()).toEqual(['clean', 'once', 'stands']);
    await bus.close();
  });

  it('a handle interceptor that misbehaves cannot ack a failed handler or run it twice', async () => {
    const bus = createBus(inProcessDriver());
    const calls: string[] = [];
    let mode: 'forget-return' | 'no-next' | 'twice' = 'forget-return';
    removals.push(
      intercept(bus, {
        handle(_call, next) {
          if (mode === 'forget-return') {
            void Promise.resolve(next()).catch(() => {});
            return undefined;
          }
          if (mode === 'no-next') return undefined;
          next();
          return next();
        },
      }),
    );
    await bus.consume(
      'h.*',
      async (m) => {
        calls.push(`${m.subject}#${m.attempt}`);
        await new Promise((r) => setTimeout(r, 5));
        if (m.subject === 'h.fails' && m.attempt === 1) throw new Error('handler failed');
      },
      { backoff: 0, maxAttempts: 3 },
    );
    await bus.publish('h.fails', 'x');
    await waitFor(() => calls.includes('h.fails#2'), 'the retry of a failed handler');
    mode = 'twice';
    await bus.publish('h.twice', 'x');
    await waitFor(() => bus.stats().acked >= 2, 'acked');
    expect(calls.filter((c) => c.startsWith('h.twice'))).toEqual(['h.twice#1']);
    mode = 'no-next';
    await bus.publish('h.skipped', 'x');
    await waitFor(() => bus.stats().deadLettered === 1, 'dead-lettered after 3 attempts no handler ran');
    expect(calls.filter((c) => c.startsWith('h.skipped'))).toEqual([]);
    await bus.close();
  });

  it('refuses what is not an interceptor', () => {
    const bus = createBus(inProcessDriver());
    expect(() => intercept(bus, { publish: 5 } as unknown as BusInterceptor)).toThrow(InvalidArgumentError);
    expect(() => interceptAll(null as unknown as BusInterceptor)).toThrow(/optional publish and handle/);
    expect(() => intercept({}, {})).toThrow(/needs a bus built by createBus/);
  });
});
