import { type EventBus, redact } from '@omnibus/core';
import { createEventBusFromEnv } from '@omnibus/factory';
import { createInbox, createOutbox, migrate, pgDatabase, type Relay, startRelay } from '@omnibus/outbox';
import pg from 'pg';
import { createdSubject, type Order } from './events.js';
import { fatalMessage } from './fatal.js';

// `pnpm outbox`: the order row and its event in one PostgreSQL transaction (@omnibus/outbox).
// A relay forwards committed events to the bus; billing records each charge through the inbox, in
// the same transaction as the inbox row, so a redelivered order is charged once. One order fails
// its insert (a total the table refuses): its transaction rolls back and no event is ever sent.
// OMNIBUS_PG_URL (default postgres://postgres@127.0.0.1:5432/test), OMNIBUS_URL for the bus.
const schema = 'orders_example';
let bus: EventBus | undefined;
let relay: Relay | undefined;
const pool = new pg.Pool({
  connectionString: process.env.OMNIBUS_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
});
pool.on('error', () => undefined); // an idle connection dropped by the server is replaced, not fatal

async function main(): Promise<void> {
  const database = pgDatabase<pg.PoolClient>(pool);
  await migrate(database, { schema }); // the outbox and inbox tables, once
  await pool.query(`CREATE TABLE IF NOT EXISTS ${schema}.orders (
    id text PRIMARY KEY, region text NOT NULL, total numeric NOT NULL CHECK (total > 0))`);
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${schema}.charges (order_id text NOT NULL, amount numeric NOT NULL)`,
  );

  bus = await createEventBusFromEnv();
  console.log(
    `outbox example on the ${bus.backend} bus (${redact(process.env.OMNIBUS_URL ?? 'memory://')}) and PostgreSQL`,
  );
  const outbox = createOutbox({ schema });

  // billing: each charge is written in the transaction that records the message in the inbox
  const inbox = createInbox({ database, consumer: 'billing', schema });
  const charged = new Set<string>();
  await bus.consume(
    'orders.*.created',
    inbox.handle(async (message, tx) => {
      const order = message.json<Order>();
      await tx.query(`INSERT INTO ${schema}.charges VALUES ($1, $2)`, [order.orderId, order.total]);
      charged.add(order.orderId);
      console.log(
        `billing   charged  ${order.orderId}  ${order.total.toFixed(2)} (attempt ${message.attempt})`,
      );
    }),
    { group: 'billing-outbox' },
  );
  // started once the consumer is live: on the memory bus a message with nobody subscribed is gone
  relay = await startRelay({ database, bus, schema });

  // the order service: the row and the event commit together, or neither does
  const run = Date.now().toString(36);
  const orders: Order[] = [
    { orderId: `ob-${run}-1`, region: 'eu', total: 40, items: 1 },
    { orderId: `ob-${run}-2`, region: 'us', total: -5, items: 1 }, // the CHECK constraint refuses it
    { orderId: `ob-${run}-3`, region: 'apac', total: 12.5, items: 2 },
  ];
  for (const order of orders) {
    try {
      await database.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${schema}.orders VALUES ($1, $2, $3)`, [
          order.orderId,
          order.region,
          order.total,
        ]);
        await outbox.publish(tx, createdSubject(order.region), JSON.stringify(order), { id: order.orderId });
      });
      console.log(`service   saved    ${order.orderId}  row and event committed together`);
    } catch (error) {
      console.log(`service   refused  ${order.orderId}  rolled back, no event: ${(error as Error).message}`);
    }
  }

  await relay.drain();
  const expected = orders.filter((o) => o.total > 0).map((o) => o.orderId);
  const deadline = Date.now() + 10_000;
  while (!expected.every((id) => charged.has(id)) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  await relay.close();
  await bus.close(); // waits for the billing handlers' transactions
  const { rows } = await pool.query(
    `SELECT count(*)::int AS n FROM ${schema}.charges WHERE order_id = ANY($1)`,
    [orders.map((o) => o.orderId)],
  );
  console.log(
    `done: ${expected.length} orders saved, ${rows[0].n} charged, 1 refused (never published); relay forwarded ${relay.stats().forwarded}, inbox duplicates ${inbox.stats().duplicates}`,
  );
}

try {
  await main();
} catch (error) {
  console.error(fatalMessage(error));
  process.exitCode = 1;
} finally {
  await relay?.close();
  await bus?.close({ timeoutMs: 2_000 }).catch(() => undefined);
  await pool.end();
}
