import { connect as tcpConnect } from 'node:net';
import { type ConnectionOptions as TlsOptions, connect as tlsConnect } from 'node:tls';

/** The AMQP 0-9-1 protocol header a client opens with. */
const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
/** The server's first frame (`connection.start`) is a method frame on channel 0, a few hundred bytes. */
const METHOD_FRAME = 1;
const MAX_FIRST_FRAME = 1024 * 1024;

/** An answer that is not AMQP 0-9-1: a wrong port, never worth a retry. */
class NotAmqpError extends Error {}

/**
 * Checks the servers the client will use — `hosts` (`host[:port]`, rabbitmq-client's option) when
 * given, else the URL's — as `probe` does, all at once. Resolves when one answers AMQP 0-9-1 and
 * none answers something else; rejects, naming the host, when one answers something else, and with
 * the first host's error when none answers.
 */
export async function preflight(
  url: string,
  hosts: readonly string[] | undefined,
  tls: boolean | TlsOptions | undefined,
  timeoutMs: number,
): Promise<void> {
  const parsed = new URL(url);
  // rabbitmq-client uses TLS for amqps:// and whenever `tls` is set
  const secure = parsed.protocol === 'amqps:' || Boolean(tls);
  const defaultPort = secure ? 5671 : 5672;
  const targets =
    hosts && hosts.length > 0
      ? hosts.map((h) => {
          const [host = '', port] = h.split(':');
          return { host: host || '127.0.0.1', port: Number(port) || defaultPort };
        })
      : [
          {
            host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
            port: Number(parsed.port) || defaultPort,
          },
        ];
  const results = await Promise.allSettled(targets.map((t) => probe(t.host, t.port, secure, tls, timeoutMs)));
  const wrong = results.findIndex((r) => r.status === 'rejected' && r.reason instanceof NotAmqpError);
  if (wrong >= 0) {
    const t = targets[wrong];
    const reason = (results[wrong] as PromiseRejectedResult).reason as Error;
    throw targets.length > 1 ? new Error(`${t?.host}:${t?.port}: ${reason.message}`) : reason;
  }
  if (results.some((r) => r.status === 'fulfilled')) return;
  throw (results[0] as PromiseRejectedResult).reason;
}

/**
 * Checks that the server at `host:port` speaks AMQP 0-9-1 before the client connects: sends the
 * protocol header and reads the first frame header of the answer. rabbitmq-client reads a
 * frame's size from the wire and allocates it before checking it, so a server answering
 * something else (an HTTP port, the management UI's 15672) throws a RangeError from a socket
 * event, outside any promise, and ends the process. Resolves when the answer is an AMQP
 * frame; rejects with a plain Error saying what was found (the caller wraps it) otherwise, or
 * when nothing answers within `timeoutMs`.
 */
function probe(
  host: string,
  port: number,
  secure: boolean,
  tls: boolean | TlsOptions | undefined,
  timeoutMs: number,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let received = Buffer.alloc(0);
    const tlsOptions = typeof tls === 'object' ? tls : {};
    const socket = secure
      ? tlsConnect({ host, port, servername: host, ...tlsOptions }, () => socket.write(PROTOCOL_HEADER))
      : tcpConnect({ host, port }, () => socket.write(PROTOCOL_HEADER));
    const timer = setTimeout(() => finish(new Error(`no AMQP answer within ${timeoutMs} ms`)), timeoutMs);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error('the server closed the connection without an AMQP answer')));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 8) return;
      if (received.subarray(0, 4).toString('latin1') === 'AMQP')
        return finish(
          new NotAmqpError(
            `the server speaks another AMQP version (${[...received.subarray(4, 8)].join('.')})`,
          ),
        );
      const type = received[0];
      const channel = received.readUInt16BE(1);
      const size = received.readUInt32BE(3);
      if (type === METHOD_FRAME && channel === 0 && size < MAX_FIRST_FRAME) return finish();
      return finish(new NotAmqpError('the server does not speak AMQP 0-9-1 (is this the AMQP port?)'));
    });
  });
}
