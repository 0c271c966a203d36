import { connect, type Socket } from 'node:net';

/**
 * What a quick probe found at a broker address: used to fail fast, and to say what went wrong,
 * when a bus is pointed at something that is not a Kafka broker (another service's port).
 */
export type ProbeFinding =
  /** It answered a Kafka request as a Kafka broker. */
  | { kind: 'kafka' }
  /** It answered, but not as a Kafka broker; `service` says what it looks like (`a Redis server`). */
  | { kind: 'other'; service: string }
  /** It accepted the TCP connection and closed it without answering. */
  | { kind: 'closed' }
  /** It accepted the TCP connection and said nothing within the probe's time. */
  | { kind: 'silent'; ms: number }
  /** No TCP connection: `refused`, `unresolved` (the host does not resolve), `timeout`, or the error's text. */
  | { kind: 'unreachable'; reason: string };

/** ApiVersions (key 18) version 0: the one request every broker answers before authentication. */
const API_VERSIONS = 18;
/** The probe's correlation id ("omni"): a Kafka answer starts with its size, then this. */
const CORRELATION_ID = 0x6f6d6e69;
/** A Kafka answer larger than this is no ApiVersions answer. */
const MAX_ANSWER_BYTES = 1 << 20;
/**
 * Redis waits for a newline before a NUL-free line and so never answers a Kafka request (whose
 * size starts with a zero byte): a server silent this long gets a second connection with a
 * Redis `PING`. A Kafka broker that slow would log that connection as an invalid request.
 */
const SILENT_BEFORE_PING_MS = 1_000;

/** The ApiVersions v0 request, with the probe's correlation id. */
function apiVersionsRequest(clientId: string): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const frame = Buffer.alloc(4 + 10 + id.length);
  frame.writeInt32BE(frame.length - 4, 0);
  frame.writeInt16BE(API_VERSIONS, 4);
  frame.writeInt16BE(0, 6);
  frame.writeInt32BE(CORRELATION_ID, 8);
  frame.writeInt16BE(id.length, 12);
  id.copy(frame, 14);
  return frame;
}

/** What the first bytes a server sent say it is (it is not Kafka). */
export function identifyService(data: Buffer): string {
  const text = data.subarray(0, 16).toString('latin1');
  if (text.startsWith('INFO {')) return 'a NATS server';
  if (/^[-+][A-Z]/.test(text)) return 'a Redis server';
  if (/^HTTP\/\d/.test(text)) return 'an HTTP server';
  if (text.startsWith('AMQP')) return 'an AMQP server (e.g. RabbitMQ)';
  if (text.startsWith('SSH-')) return 'an SSH server';
  if (data[0] === 0x45 && data[5] === 0x53) return 'a PostgreSQL server'; // 'E', length, 'S'everity
  if (data[0] === 0x15 && data[1] === 0x03) return 'a TLS listener'; // a TLS alert record
  return 'a server that does not speak the Kafka protocol';
}

function isKafkaAnswer(data: Buffer): boolean {
  const size = data.readInt32BE(0);
  return size >= 4 && size <= MAX_ANSWER_BYTES && data.readInt32BE(4) === CORRELATION_ID;
}

function unreachableReason(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'unresolved';
  return String((error as Error)?.message ?? error);
}

interface Exchange {
  /** The connection was made (the request was sent). */
  connected: boolean;
  /** What the server sent before the exchange ended. */
  data: Buffer;
  /** The server closed the connection. */
  closed: boolean;
  /** The connect failed with this error. */
  error?: unknown;
  /** Resolves (with this exchange) once it ended; its socket is destroyed by then. */
  ended: Promise<Exchange>;
}

/**
 * Connects to `host:port` and sends `request`. The exchange ends when `enough` says enough
 * arrived, the server closes the connection, the connect fails, or `until` resolves; what
 * happens after that is ignored.
 */
function exchange(
  host: string,
  port: number,
  request: Buffer,
  until: Promise<void>,
  enough: (data: Buffer) => boolean,
): Exchange {
  let end!: () => void;
  const result: Exchange = {
    connected: false,
    data: Buffer.alloc(0),
    closed: false,
    ended: new Promise((resolve) => {
      end = () => resolve(result);
    }),
  };
  let over = false;
  const socket: Socket = connect({ host, port }, () => {
    if (over) return;
    result.connected = true;
    socket.write(request);
  });
  const finish = () => {
    over = true;
    socket.destroy();
    end();
  };
  socket.on('data', (chunk: Buffer) => {
    if (over) return;
    result.data = Buffer.concat([result.data, chunk]);
    if (enough(result.data)) finish();
  });
  socket.on('error', (error) => {
    if (over) return;
    if (!result.connected) result.error = error;
    finish();
  });
  socket.on('close', () => {
    if (over) return;
    result.closed = result.connected;
    finish();
  });
  void until.then(() => {
    if (!over) finish();
  });
  return result;
}

/** Resolves after `ms`, or when `signal` aborts; never holds the process. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    timer.unref();
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

/** Splits `host:port` (`[::1]:9092` too). */
function hostPort(broker: string): { host: string; port: number } {
  const colon = broker.lastIndexOf(':');
  return { host: broker.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(broker.slice(colon + 1)) };
}

/**
 * Probes one plaintext broker address within `ms`: an ApiVersions request (answered by any Kafka
 * broker, even before authentication), and — when the server stays silent for a second — a
 * Redis `PING` on a second connection. Destroys its sockets before it resolves, and stops early
 * when `signal` aborts.
 */
export async function probeBroker(
  broker: string,
  clientId: string,
  ms: number,
  signal: AbortSignal,
): Promise<ProbeFinding> {
  const { host, port } = hostPort(broker);
  const stop = new AbortController();
  const abort = () => stop.abort();
  signal.addEventListener('abort', abort, { once: true });
  try {
    const deadline = delay(ms, stop.signal);
    const main = exchange(host, port, apiVersionsRequest(clientId), deadline, (data) => data.length >= 8);
    let mainEnded = false;
    void main.ended.then(() => {
      mainEnded = true;
    });
    // the PING goes only to a server that took the connection and is still silent
    const pinged = delay(Math.min(SILENT_BEFORE_PING_MS, ms), stop.signal).then(() => {
      if (mainEnded || stop.signal.aborted || !main.connected || main.data.length > 0) return undefined;
      const ping = exchange(host, port, Buffer.from('PING\r\n'), deadline, (data) => data.length > 0);
      void ping.ended.then(() => {
        if (ping.data.length > 0) stop.abort(); // it answered: the silent first connection ends too
      });
      return ping.ended;
    });
    await main.ended;
    stop.abort(); // ends a PING still waiting
    return findingOf(main, await pinged, ms);
  } finally {
    stop.abort();
    signal.removeEventListener('abort', abort);
  }
}

function findingOf(main: Exchange, pinged: Exchange | undefined, ms: number): ProbeFinding {
  if (main.error !== undefined) return { kind: 'unreachable', reason: unreachableReason(main.error) };
  if (!main.connected) return { kind: 'unreachable', reason: 'timeout' };
  if (main.data.length >= 8 && isKafkaAnswer(main.data)) return { kind: 'kafka' };
  if (main.data.length > 0) return { kind: 'other', service: identifyService(main.data) };
  if (pinged?.data.length) return { kind: 'other', service: identifyService(pinged.data) };
  return main.closed ? { kind: 'closed' } : { kind: 'silent', ms };
}

/** What a probe found at one broker address. */
export interface BrokerFinding {
  broker: string;
  finding: ProbeFinding;
}

/** Probes of every broker address, started together; see {@link probeBrokers}. */
export interface BrokerProbes {
  /** Every broker's finding, once all probes ended (within their time). */
  readonly findings: Promise<BrokerFinding[]>;
  /**
   * Rejects as soon as every broker answered as something other than Kafka (so that the connect
   * need not wait for its timeout); otherwise never settles.
   */
  readonly noneIsKafka: Promise<never>;
  /** Ends the probes still running (the connect succeeded). */
  stop(): void;
}

/**
 * Probes every broker address at once (see {@link probeBroker}), each within `ms`, while the
 * client connects: a bus pointed at another service's port fails fast and says so.
 */
export function probeBrokers(brokers: readonly string[], clientId: string, ms: number): BrokerProbes {
  const stopped = new AbortController();
  const findings = Promise.all(
    brokers.map(async (broker) => ({
      broker,
      finding: await probeBroker(broker, clientId, ms, stopped.signal),
    })),
  );
  const noneIsKafka = findings.then((all) => {
    if (all.length > 0 && all.every((f) => f.finding.kind === 'other'))
      throw new Error('every broker answered, but not as a Kafka broker');
    return new Promise<never>(() => undefined);
  });
  noneIsKafka.catch(() => undefined); // raced by the caller; never an unhandled rejection
  return { findings, noneIsKafka, stop: () => stopped.abort() };
}
