import { isIP, Socket, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { type BusStatus, redact, settledWithin, withTimeout } from '@omnibus/core';
import { type Admin, type ISocketFactory, Kafka, logLevel, type Producer } from 'kafkajs';
import { connectError } from './connect-error.js';
import type { ResolvedKafkaOptions } from './options.js';
import { probeBrokers } from './probe.js';
import { notingPartitioner } from './sent-partitions.js';

/**
 * kafkajs lines that say nothing an operator can act on in a healthy run: the idempotent
 * producer's retry limit (set on purpose: Omnibus resends itself, see `publishTimeoutMs`), and
 * CreateTopics answers (a topic another member created first; a real failure rejects the call
 * and is reported by Omnibus with a hint), and a ListOffsets "not the leader" answer: a consumer
 * asking where a partition starts while the leader of a topic just created is still being
 * elected, and a Metadata "does not host this topic-partition" answer for a topic just created
 * while the brokers' metadata catches up (seen with three test files creating topics at once;
 * kafkajs refreshes its metadata and asks again; a leader or topic really lost shows in the
 * produce and fetch answers, which stay reported).
 */
const ROUTINE = [
  /Limiting retries for the idempotent producer/i,
  /Response CreateTopics\b/,
  /Response ListOffsets\b.*not the leader for that topic-partition/i,
  /Response Metadata\b.*does not host this topic-partition/i,
];

/**
 * kafkajs logs to the console by default; Omnibus sends its warnings and errors
 * to `onStatus` (redacted) and keeps the rest quiet — routine lines, and anything after a
 * failed create released the client (`quiet`).
 */
function logCreator(report: (status: BusStatus) => void, quiet: () => boolean) {
  return () =>
    ({ level, log }: { level: number; log: { message?: string; error?: string } }) => {
      if (level > logLevel.WARN || quiet()) return;
      const detail = redact(`${log.message ?? ''}${log.error ? `: ${log.error}` : ''}`);
      if (ROUTINE.some((routine) => routine.test(detail))) return;
      // a broker that stops answering (paused, partitioned) shows only as requests timing out
      const lost =
        level === logLevel.ERROR &&
        /connect|ECONNREFUSED|ECONNRESET|socket|closed|timed out|timeout/i.test(detail);
      report({
        type: level === logLevel.ERROR ? 'client_error' : 'client_warning',
        detail,
        ...(lost ? { connection: 'lost' as const } : {}),
      });
    };
}

/**
 * The sockets of the kafkajs client the bus builds (kafkajs's own socket factory, noting each
 * socket), so that a failed connect lets go of them at once: kafkajs's `disconnect()` waits
 * for the requests in flight, and against a broker that accepted the connection and never
 * answers those wait for their 30 s request timeout, keeping the process alive.
 */
export class SocketTracker {
  readonly #open = new Set<Socket>();
  #released = false;

  /** kafkajs's default socket factory, with every socket noted until it closes. */
  readonly factory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
    if (this.#released) {
      // the connect failed: a retry kafkajs still had scheduled fails at once
      const refused = new Socket();
      refused.destroy(new Error('the bus was not created; its client is released'));
      return refused;
    }
    const socket = ssl
      ? tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...(ssl as object) }, onConnect)
      : tcpConnect({ host, port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
    return socket;
  };

  /**
   * Destroys every open socket (with an error, so that kafkajs fails the requests waiting on it
   * and clears its request-timeout timer), and every socket asked for from now on.
   */
  /** True once `releaseAll` ran: the bus was not created. */
  get released(): boolean {
    return this.#released;
  }

  releaseAll(): void {
    this.#released = true;
    for (const socket of this.#open)
      socket.destroy(new Error('the bus was not created; its client is released'));
    this.#open.clear();
  }
}

/** The kafkajs instance: the user's, or one built from the options (its sockets noted by `sockets`). */
export function kafkaClient(
  options: ResolvedKafkaOptions,
  report: (status: BusStatus) => void,
  sockets?: SocketTracker,
): Kafka {
  if (options.kafka) return options.kafka;
  return new Kafka({
    ...(sockets ? { socketFactory: sockets.factory } : {}),
    clientId: options.clientId,
    brokers: options.brokers,
    ssl: options.ssl,
    sasl: options.sasl,
    connectionTimeout: Math.min(options.connectTimeoutMs, 3_000),
    logLevel: logLevel.WARN,
    logCreator: logCreator(report, () => sockets?.released === true),
    // admin calls and the first connect give up fast; the producer and consumers retry on their own
    retry: { initialRetryTime: 100, retries: 4, maxRetryTime: 1_000 },
  });
}

/**
 * The bus's idempotent producer: retried sends are never stored twice; one
 * request in flight keeps the order. kafkajs gives the producer the client's
 * retry (4 retries: about 2 s), far less than a cluster takes to elect a new
 * leader for a dead broker's partitions (its session timeout, 9 s by default):
 * it retries for as long as a publish may wait (`publishTimeoutMs`), and a
 * little more.
 */
export function createProducer(kafka: Kafka, options: ResolvedKafkaOptions): Producer {
  return kafka.producer({
    // the default partitioner (murmur2 of the key), noting where each record went (sent-partitions.ts)
    createPartitioner: notingPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: {
      initialRetryTime: 100,
      maxRetryTime: 1_000,
      retries: Math.ceil(options.publishTimeoutMs / 1_000) + 5,
    },
  });
}

/** Longest a failed connect waits for the clients to disconnect before it rejects (ms). */
const DISCONNECT_WAIT_MS = 1_000;
/** Longest the probes of the broker addresses take (ms; at most `connectTimeoutMs`). */
const PROBE_MS = 3_000;

/** kafkajs's KafkaJSBrokerNotFound, itself or as the cause of a retry that gave up. */
function brokerNotRegisteredYet(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++)
    if (e.name === 'KafkaJSBrokerNotFound' || /not found in the cached metadata/.test(e.message)) return true;
  return false;
}

/**
 * Connects the admin client and the idempotent producer, or fails with a credential-free
 * `ConnectionError` saying what was found at the broker addresses and what to do — having
 * released every socket of a client the bus built (`sockets`), so that the process can exit at
 * once. Plaintext broker addresses are probed meanwhile (see probe.ts): when every one answers
 * as another service, the connect fails at once instead of after `connectTimeoutMs`.
 */
export async function connectClients(
  kafka: Kafka,
  options: ResolvedKafkaOptions,
  lastError: () => string | undefined = () => undefined,
  sockets?: SocketTracker,
): Promise<{ admin: Admin; producer: Producer }> {
  const admin = kafka.admin();
  const producer = createProducer(kafka, options);
  // a TLS address would need a TLS probe; a client passed in has no addresses of ours
  const probes =
    options.kafka || options.ssl
      ? undefined
      : probeBrokers(options.brokers, options.clientId, Math.min(options.connectTimeoutMs, PROBE_MS));
  const deadline = Date.now() + options.connectTimeoutMs;
  try {
    for (;;) {
      try {
        await withTimeout(
          Promise.race([
            Promise.all([admin.connect(), producer.connect()]),
            ...(probes ? [probes.noneIsKafka] : []),
          ]),
          Math.max(1, deadline - Date.now()),
          `no answer within ${options.connectTimeoutMs} ms`,
        );
        break;
      } catch (error) {
        // a cluster still starting: a broker named by one node's metadata is not registered in
        // another's yet (KafkaJSBrokerNotFound). Passing: connect again, within connectTimeoutMs
        if (!brokerNotRegisteredYet(error) || deadline - Date.now() < 1_500) throw error;
        await Promise.allSettled([admin.disconnect(), producer.disconnect()]);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  } catch (error) {
    // a client still waiting on a broker that accepted the connection and never answers lets go
    // only when its request times out (30 s): its sockets are destroyed, which fails those
    // requests at once (a client passed in by the caller stays the caller's to end)
    const seen = lastError(); // before the release, whose errors say nothing about the broker
    const disconnecting = Promise.allSettled([admin.disconnect(), producer.disconnect()]);
    sockets?.releaseAll();
    await settledWithin(disconnecting, DISCONNECT_WAIT_MS);
    throw connectError(error, options, seen, probes ? await probes.findings : []);
  } finally {
    probes?.stop();
  }
  return { admin, producer };
}
