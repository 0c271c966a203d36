// The harness under node:test (no test-runner dependency in the library): queries, idle(), and
// the runner-neutral matchers called directly.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { silentLogger } from '@omnibus/core';
import { createMemoryBus } from '@omnibus/memory';
import { createHarness, harnessMatchers } from '../dist/index.js';

describe('@omnibus/harness under node:test', () => {
  test('journals, a waiting query and idle()', async () => {
    const bus = createMemoryBus({ logger: silentLogger });
    const harness = createHarness(bus);
    await bus.consume('orders.>', async (m) => {
      await bus.publish('billing.charged', JSON.stringify({ orderId: m.json().orderId }));
    });
    const charged = harness.published('billing.charged', { where: { orderId: 'o-1' } });
    await bus.publish('orders.eu.created', JSON.stringify({ orderId: 'o-1' }));
    assert.equal((await charged).payload.orderId, 'o-1');
    await harness.idle();
    assert.deepEqual(
      harness.journal.consumed.map((e) => [e.subject, e.outcome]),
      [['orders.eu.created', 'acked']],
    );
    await bus.close();
  });

  test('the matchers work without jest or vitest', async () => {
    const bus = createMemoryBus({ logger: silentLogger });
    const harness = createHarness(bus);
    await bus.publish('orders.eu.created', JSON.stringify({ orderId: 'o-1' }));
    const hit = harnessMatchers.toHavePublished.call({}, harness, 'orders.*.created', { orderId: 'o-1' });
    assert.equal(hit.pass, true);
    const miss = harnessMatchers.toHavePublished.call({}, harness, 'orders.*.created', { orderId: 'o-2' });
    assert.equal(miss.pass, false);
    assert.match(miss.message(), /orderId: expected "o-2", got "o-1"/);
    await bus.close();
  });

  test('idle() rejects with what is still held', async () => {
    const bus = createMemoryBus({ logger: silentLogger });
    const harness = createHarness(bus, { timeoutMs: 30 });
    const sub = await bus.subscribe('held.x', { ack: 'manual' });
    await bus.publish('held.x', 'x');
    const it = sub[Symbol.asyncIterator]();
    const { value } = await it.next();
    await assert.rejects(harness.idle(), /1 message\(s\) handed out and not settled/);
    await value.ack();
    await harness.idle();
    await bus.close();
  });
});
