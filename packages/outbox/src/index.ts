export type {
  OutboxDatabase,
  PgPoolClientLike,
  PgPoolLike,
  PostgresJsSqlLike,
  PostgresJsTransactionLike,
} from './database.js';
export { pgDatabase, postgresDatabase, TransactionRolledBackError } from './database.js';
export type { Inbox, InboxHandler, InboxOptions, InboxStats } from './inbox.js';
export { createInbox } from './inbox.js';
export type { MigrateResult } from './migrations.js';
export { migrate, SCHEMA_VERSION } from './migrations.js';
export type { Outbox, OutboxEntry, OutboxOptions, OutboxPublishOptions, OutboxReceipt } from './outbox.js';
export { createOutbox } from './outbox.js';
export type { OutboxLag, Relay, RelayOptions, RelayStats, RelayStatus, Retention } from './relay.js';
export { startRelay } from './relay.js';
export { DEFAULT_SCHEMA } from './schema.js';
export type { Row, SqlClient, Transaction } from './sql-client.js';
