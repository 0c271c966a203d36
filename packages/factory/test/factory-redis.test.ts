import type { EventBus } from '@omnibus/core';
import { uniqueName, withBroker } from '@omnibus/testing';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { createEventBusFromEnv } from '../src/index.js';

let bus: EventBus | undefined;
afterEach(async () => {
  await bus?.close();
  bus = undefined;
});

await withBroker('redis', (broker) => {
  it('selects the Redis adapter from OMNIBUS_URL, with Omnibus options from the query', async () => {
    const keyPrefix = uniqueName('factory');
    bus = await createEventBusFromEnv({
      OMNIBUS_URL: `${broker.url}?keyPrefix=${keyPrefix}&trimMaxLen=5`,
      OMNIBUS_REQUIRE: 'replay,groups,dedupe',
    });
    expect(bus.backend).toBe('redis');
    const sub = await bus.subscribe('factory.*');
    await bus.publish('factory.x', '0');
    // read before the rest is published: trimming to 5 drops what nobody read yet
    for await (const m of sub) {
      expect(m.text()).toBe('0');
      break;
    }
    for (let i = 1; i < 7; i++) await bus.publish('factory.x', String(i));
    await bus.close();
    bus = undefined;
    const client = new Redis(broker.url);
    expect(await client.xlen(`{${keyPrefix}}:s:factory.x`)).toBe(5);
    const keys = await client.keys(`{${keyPrefix}}:*`);
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
  });
});
