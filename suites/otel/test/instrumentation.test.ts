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

  it('refuses options that make no sense', () => {
    expect(() => instrumentOmnibus({ destinationTemplate: 'x' as unknown as () => string })).toThrow(
      /destinationTemplate must be a function/,
    );
  });
});
