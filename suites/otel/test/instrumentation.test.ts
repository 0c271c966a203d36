// How the instrumentation behaves as users set it up: before the SDK, twice, and with HEAD probes.
import { silentLogger } from '@omnibus/core';
import { createMemoryBus } from '@omnibus/memory';
import { instrumentOmnibus } from '@omnibus/otel';
import { metrics } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { meterProvider, points, spansOf, tracerProvider } from './otel-setup.js';

describe('instrumentOmnibus', () => {
  it('follows a global meter provider registered after it (metrics are not lost)', async () => {
    const instrumentation = instrumentOmnibus({ tracerProvider }); // no meter provider yet
    try {
      const bus = createMemoryBus({ logger: silentLogger });
      metrics.setGlobalMeterProvider(meterProvider); // the SDK comes up later
      await bus.publish('late.sdk', 'x');
      const sent = (await points('messaging.client.sent.messages')).filter(
        (p) => p.attributes['messaging.destination.name'] === 'late.sdk',
      );
      expect(sent.map((p) => p.value)).toEqual([1]);
      await bus.close();
    } finally {
      instrumentation.disable();
      metrics.disable();
    }
  });

  it('a second instrumentOmnibus replaces the first: one send span per publish, not two', async () => {
    const first = instrumentOmnibus({ tracerProvider, meterProvider });
    const second = instrumentOmnibus({ tracerProvider, meterProvider });
    try {
      const bus = createMemoryBus({ logger: silentLogger });
      await bus.publish('twice.instrumented', 'x');
      expect(spansOf('twice.instrumented').filter((s) => s.name.startsWith('send'))).toHaveLength(1);
      first.enable(); // enabling the first again takes the second off
      await bus.publish('twice.instrumented', 'y');
      expect(spansOf('twice.instrumented').filter((s) => s.name.startsWith('send'))).toHaveLength(2);
      await bus.close();
    } finally {
      first.disable();
      second.disable();
    }
  });

  it('counts the deliveries of a group across its members and restarts (one series per group, not per member)', async () => {
    const instrumentation = instrumentOmnibus({ tracerProvider, meterProvider });
    try {
      const bus = createMemoryBus({ logger: silentLogger });
      const a = await bus.consume('members.x', () => {}, { group: 'two-members' });
      const b = await bus.consume('members.x', () => {}, { group: 'two-members' });
      for (let i = 0; i < 10; i++) await bus.publish('members.x', 'x');
      await a.close();
      await b.close();
      await bus.consume('members.x', () => {}, { group: 'two-members' }); // a member restarts
      for (let i = 0; i < 2; i++) await bus.publish('members.x', 'x');
      const consumed = (await points('messaging.client.consumed.messages')).filter(
        (p) => p.attributes['messaging.consumer.group.name'] === 'two-members',
      );
      expect(consumed).toEqual([
        {
          attributes: {
            'messaging.system': 'memory',
            'messaging.operation.name': 'process',
            'messaging.destination.template': 'members.x',
            'messaging.consumer.group.name': 'two-members',
          },
          value: 12,
        },
      ]);
      await bus.close();
    } finally {
      instrumentation.disable();
    }
  });

  it('a handler error carrying a credential is redacted in the exported span', async () => {
    const instrumentation = instrumentOmnibus({ tracerProvider, meterProvider });
    try {
      const bus = createMemoryBus({ logger: silentLogger });
      await bus.consume(
        'secret.x',
        () => {
          throw new Error('cannot reach postgres://app:s3cret@db.internal:5432/orders');
        },
        { maxAttempts: 1 },
      );
      await bus.publish('secret.x', 'x');
      await new Promise((r) => setTimeout(r, 50));
      const process = spansOf('secret.x').find((s) => s.name.startsWith('process'));
      const exported = JSON.stringify({ status: process?.status, events: process?.events });
      expect(exported).toContain('postgres://');
      expect(exported).not.toContain('s3cret');
      await bus.close();
    } finally {
      instrumentation.disable();
    }
  });

  it('a handler that never returns: its process span ends when the ack timeout takes the message back', async () => {
    const instrumentation = instrumentOmnibus({ tracerProvider, meterProvider });
    try {
      const bus = createMemoryBus({ logger: silentLogger });
      await bus.consume('hung.x', () => new Promise(() => undefined), { ackTimeoutMs: 150, maxAttempts: 2 });
      await bus.publish('hung.x', 'x');
      await new Promise((r) => setTimeout(r, 600));
      const spans = spansOf('hung.x');
      const processes = spans.filter((s) => s.name.startsWith('process'));
      expect(processes).toHaveLength(2); // both attempts exported, each ended
      for (const p of processes) expect(p.status.code).toBe(2); // ERROR
      const deadLetter = spans.find((s) => s.name.startsWith('dead_letter'));
      expect(processes.map((p) => p.spanContext().spanId)).toContain(deadLetter?.parentSpanContext?.spanId);
      await bus.close({ timeoutMs: 100 });
    } finally {
      instrumentation.disable();
    }
  });

  it('a dead-letter reason carrying a credential is redacted and bounded in the settle span', async () => {
    const instrumentation = instrumentOmnibus({ tracerProvider, meterProvider });
    try {
      const bus = createMemoryBus({ logger: silentLogger });
      await bus.consume(
        'reason.x',
        (m) => m.term(`cannot reach postgres://app:s3cret@db/${'x'.repeat(3_000)}`),
        {
          ack: 'manual',
        },
      );
      await bus.publish('reason.x', 'x');
      await new Promise((r) => setTimeout(r, 100));
      const settle = spansOf('reason.x').find((s) => s.name.startsWith('dead_letter'));
      expect(settle?.status.message).toContain('postgres://***@db');
      expect(settle?.status.message?.length ?? 0).toBeLessThanOrEqual(1_024);
      await bus.close();
    } finally {
      instrumentation.disable();
    }
  });

  it('two copies of the package trace each message once', async () => {
    // a second copy of the built package (another module instance, as a second install would be)
    const url = new URL('../../../packages/otel/dist/index.js', import.meta.url);
    const copy = (await import(`${url.href}?copy`)) as typeof import('@omnibus/otel');
    const first = instrumentOmnibus({ tracerProvider, meterProvider });
    const second = copy.instrumentOmnibus({ tracerProvider, meterProvider });
    try {
      const bus = createMemoryBus({ logger: silentLogger });
      await bus.publish('copies.x', 'x');
      expect(spansOf('copies.x').filter((s) => s.name.startsWith('send'))).toHaveLength(1);
      await bus.close();
    } finally {
      first.disable();
      second.disable();
    }
  });

  it('refuses options that make no sense', () => {
    expect(() => instrumentOmnibus({ destinationTemplate: 'x' as unknown as () => string })).toThrow(
      /destinationTemplate must be a function/,
    );
  });
});
