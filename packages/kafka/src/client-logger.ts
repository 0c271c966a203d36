import { type BusStatus, redact } from '@omnibus/core';
import type { ClientLogger } from './client.js';

/**
 * librdkafka lines that say nothing an operator can act on in a healthy run: the idempotent
 * producer asking for its producer id while the broker's transaction coordinator is still
 * loading (it retries on its own; a producer that never gets one fails its sends, which are
 * reported).
 */
const ROUTINE: readonly RegExp[] = [/Failed to acquire idempotence PID from broker .*: retrying/];

/** A librdkafka error line that says the connection to a broker is gone or failing. */
const LOST =
  /transport failure|all broker connections are down|connect|ECONNREFUSED|ECONNRESET|socket|timed out|timeout/i;

/**
 * The client's logger: librdkafka's warnings and errors go to `onStatus` (redacted) as
 * `client_warning` / `client_error` (an error that says a broker is unreachable marks the
 * connection lost); its info and debug lines and routine lines stay quiet. The client's own
 * console logging is off. Made at module level: the client keeps this logger after its disconnect
 * (disconnected-client.ts), and it holds nothing but `report`.
 */
export function statusLogger(report: (status: BusStatus) => void): ClientLogger {
  const emit = (type: 'client_error' | 'client_warning', message: string) => {
    const detail = redact(message);
    if (ROUTINE.some((routine) => routine.test(detail))) return;
    const lost = type === 'client_error' && LOST.test(detail);
    report({ type, detail, ...(lost ? { connection: 'lost' as const } : {}) });
  };
  const logger: ClientLogger = {
    info: () => undefined,
    debug: () => undefined,
    warn: (message) => emit('client_warning', String(message)),
    error: (message) => emit('client_error', String(message)),
    namespace: () => logger,
    setLogLevel: () => undefined,
  };
  return logger;
}
