import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '@omnibus/core';
import { createEventBusFromEnv } from '@omnibus/factory';
import { createMemoryBus } from '@omnibus/memory';
import { healthHandler, observeLag } from '@omnibus/otel';
import { startLocalNats } from '@omnibus/testing';
import { describe, expect, it } from 'vitest';
import { meterProvider, points } from './otel-setup.js';

async function get(
  server: http.Server,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const { port } = server.address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('health', () => {
  it('readyz and livez answer 200 while the bus works, 503 once it is closed; other paths 404', async () => {
    const bus = createMemoryBus();
    const server = http.createServer(healthHandler(bus)).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      expect(await get(server, '/readyz')).toMatchObject({
        status: 200,
        body: { status: 'ok', backend: 'memory' },
      });
      const live = await get(server, '/livez');
      expect(live).toMatchObject({ status: 200, body: { state: 'open' } });
      // liveness asks the broker nothing: no probe latency, no probe failure
      expect(live.body).not.toHaveProperty('latencyMs');
      expect(live.body).not.toHaveProperty('detail');
      expect((await get(server, '/other')).status).toBe(404);
      const { port } = server.address() as AddressInfo;
      const head = await fetch(`http://127.0.0.1:${port}/readyz`, { method: 'HEAD' });
      expect(head.status).toBe(200); // load balancers probe with HEAD
      expect(await head.text()).toBe('');
      const post = await fetch(`http://127.0.0.1:${port}/readyz`, { method: 'POST' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD');
      await bus.close();
      expect(await get(server, '/readyz')).toMatchObject({ status: 503, body: { status: 'unavailable' } });
      expect(await get(server, '/livez')).toMatchObject({ status: 503, body: { state: 'closed' } });
    } finally {
      server.close();
    }
  });

  it('readyz is 503 with the reason while a NATS server is down (no token in the body); livez stays 200', async () => {
    const nats = await startLocalNats({ token: 's3cret-token' });
    const url = nats.url.replace('nats://', 'nats://s3cret-token@');
    const bus = await createEventBusFromEnv({ env: { OMNIBUS_URL: url }, logger: silentLogger });
    const server = http.createServer(healthHandler(bus, { timeoutMs: 500 })).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      expect((await get(server, '/readyz')).status).toBe(200);
      await nats.kill();
      const down = await get(server, '/readyz');
      expect(down).toMatchObject({ status: 503, body: { status: 'unavailable', backend: 'nats' } });
      expect(JSON.stringify(down.body)).not.toContain('s3cret');
      expect((await get(server, '/livez')).status).toBe(200); // away is not dead: the bus reconnects
    } finally {
      server.close();
      await bus.close({ timeoutMs: 1_000 });
      await nats.dispose();
    }
  }, 30_000);
});

describe('health, the edges', () => {
  it('readyz is 503 while the bus reports its connection lost, even when a probe answers', async () => {
    const { readiness } = await import('@omnibus/otel');
    const lost = { health: async () => ({ ok: true, backend: 'x', state: 'open', connectionLost: true }) };
    expect((await readiness(lost as never)).status).toBe(503);
  });

  it('a response answered already (a framework timeout did) is left alone: nothing thrown', async () => {
    const slow = {
      health: () =>
        new Promise((r) =>
          setTimeout(() => r({ ok: true, backend: 'x', state: 'open', connectionLost: false }), 100),
        ),
    };
    const handler = healthHandler(slow as never);
    const unhandled: unknown[] = [];
    const record = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', record);
    const server = http
      .createServer((req, res) => {
        setTimeout(() => res.writeHead(504).end(), 20); // the framework's own timeout answers first
        handler(req, res);
      })
      .listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(504);
      await new Promise((r) => setTimeout(r, 200));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
      server.close();
    }
  });
});

describe('consumer lag', () => {
  it('reports each group with a known lag as omnibus.consumer.lag', async () => {
    const bus = createMemoryBus();
    await (await bus.consume('lag.x', () => {}, { group: 'slow-group' })).close();
    for (let i = 0; i < 3; i++) await bus.publish('lag.x', 'x');
    const lag = observeLag(bus, { meterProvider, intervalMs: 60_000 });
    await lag.refresh();
    const series = (await points('omnibus.consumer.lag')).filter(
      (p) => p.attributes['messaging.consumer.group.name'] === 'slow-group',
    );
    expect(series).toEqual([
      {
        attributes: { 'messaging.system': 'memory', 'messaging.consumer.group.name': 'slow-group' },
        value: 3,
      },
    ]);
    lag.stop();
    await bus.close();
  });

  it('refuses an interval under a second', () => {
    const bus = createMemoryBus();
    expect(() => observeLag(bus, { intervalMs: 10 })).toThrow(/at least 1000/);
  });
});
