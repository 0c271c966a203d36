import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ConnectionError, redact, safeCause } from '@omnibus/core';
import type { NatsBusStatus, ResolvedNatsOptions } from './options.js';

/** Opens (or adopts) the connection; reconnects forever by default. Errors are credential-free. */
export async function openConnection(
  options: ResolvedNatsOptions,
): Promise<{ nc: NatsConnection; owned: boolean }> {
  if (options.connection) return { nc: options.connection, owned: false };
  try {
    const nc = await connect({
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      name: 'omnibus',
      ...options.connectOptions,
      servers: options.servers,
    });
    return { nc, owned: true };
  } catch (error) {
    throw new ConnectionError(
      `cannot connect to ${options.servers.join(', ')}: ${(error as Error)?.message ?? error}`,
      {
        backend: 'nats',
        cause: safeCause(error),
      },
    );
  }
}

/** Forwards connection status changes to `onStatus`, redacted, until the connection closes. */
export function watchStatus(
  nc: NatsConnection,
  onStatus: ((status: NatsBusStatus) => void) | undefined,
): void {
  if (!onStatus) return;
  void (async () => {
    for await (const s of nc.status()) {
      const { type, ...rest } = s as { type: string } & Record<string, unknown>;
      try {
        onStatus({
          type,
          detail: redact(JSON.stringify(rest, (_k, v) => (v instanceof Error ? v.message : v))),
        });
      } catch {
        // a throwing listener must not stop status reporting
      }
    }
  })();
}
