import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';

/** The TCP client sockets one connect attempt opened. */
interface Claim {
  readonly sockets: Set<Socket>;
  /** Still connecting: sockets created in this attempt's async context are noted. */
  tracking: boolean;
  /** The attempt failed: any socket it still creates is destroyed at once. */
  released: boolean;
}

const claims = new AsyncLocalStorage<Claim>();
let listening = false;
/** Connect attempts (and failed ones' grace periods) that still need `claims`. */
let inUse = 0;
/** How long a failed attempt's late sockets are still destroyed (its client's scheduled retries). */
const FAILED_GRACE_MS = 5_000;

/**
 * Lets go of `claims` once no attempt needs it. While an AsyncLocalStorage is enabled, Node 20
 * runs a hook on every promise of the process (a publish-heavy loop paid about 3 % for it, long
 * after the connect): disabled, it costs nothing until the next connect enables it again.
 */
function release(): void {
  inUse--;
  if (inUse === 0) claims.disable();
}

/** Notes each TCP client socket (`net.connect`) created inside a claim's async context. */
function listen(): void {
  if (listening) return;
  listening = true;
  subscribe('net.client.socket', (message) => {
    const claim = claims.getStore();
    if (!claim?.tracking) return;
    const { socket } = message as { socket: Socket };
    if (claim.released) {
      socket.destroy();
      return;
    }
    claim.sockets.add(socket);
    socket.once('close', () => claim.sockets.delete(socket));
  });
}

/**
 * Runs `open` (a client's connect) and, when it fails, destroys every TCP socket it opened and
 * is still holding. The NATS client gives up on a server that accepted the connection and never
 * sent its greeting (a Redis port, a silent proxy) but leaves that socket open — and the process
 * alive. Sockets are told apart by async context (Node's `net.client.socket` diagnostics
 * channel), so sockets other code opens meanwhile are never touched; once `open` succeeds the
 * client's later sockets (reconnects) are its own.
 */
export async function releasingOnFailure<T>(open: () => Promise<T>): Promise<T> {
  listen();
  const claim: Claim = { sockets: new Set(), tracking: true, released: false };
  inUse++;
  try {
    const result = await claims.run(claim, open);
    claim.tracking = false;
    release();
    return result;
  } catch (error) {
    claim.released = true;
    for (const socket of claim.sockets) socket.destroy();
    setTimeout(release, FAILED_GRACE_MS).unref();
    throw error;
  } finally {
    claim.sockets.clear();
  }
}
