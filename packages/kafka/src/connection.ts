import type { BusStatus } from '@omnibus/core';
import { connectWithin } from './bounded-connect.js';
import { type Admin, Kafka, logLevel, type Producer } from './client.js';
import { statusLogger } from './client-logger.js';
import { connectError } from './connect-error.js';
import type { ResolvedKafkaOptions } from './options.js';
import { probeBrokers } from './probe.js';
import { tlsConfig } from './tls-config.js';

/** Longest a failed connect waits for the clients to disconnect before it rejects (ms). */
const DISCONNECT_WAIT_MS = 1_000;
/** Longest the probes of the broker addresses take (ms; at most `connectTimeoutMs`). */
const PROBE_MS = 3_000;

/**
 * The client instance: the user's, or one built from the options. librdkafka's warnings and
 * errors go to `report` (see client-logger.ts; a severable link, cut after a failed create or the close).
 */
export function kafkaClient(options: ResolvedKafkaOptions, report: (status: BusStatus) => void): Kafka {
  if (options.kafka) return options.kafka;
  return new Kafka({
    kafkaJS: {
      clientId: options.clientId,
      brokers: options.brokers,
      ...(options.ssl ? { ssl: true } : {}),
      ...(options.sasl ? { sasl: options.sasl } : {}),
      connectionTimeout: Math.min(options.connectTimeoutMs, 3_000),
      logLevel: logLevel.WARN,
      logger: statusLogger(report),
      retry: { initialRetryTime: 100, maxRetryTime: 1_000 },
    },
    ...tlsConfig(options.ssl),
  });
}

/**
 * The bus's idempotent producer (librdkafka's): concurrent sends are each stored once and in
 * order per partition; a send is retried by librdkafka until `publishTimeoutMs`
 * (`message.timeout.ms`), then fails with its outcome unknown. `linger.ms` 0: an awaited publish
 * leaves at once (librdkafka still batches what is queued meanwhile). `murmur2_random` is the
 * Java client's (and kafkajs's) key → partition mapping, so a subject stays on the partition
 * earlier versions wrote it to.
 */
export function createProducer(kafka: Kafka, options: ResolvedKafkaOptions): Producer {
  return kafka.producer({
    kafkaJS: { idempotent: true, acks: -1, allowAutoTopicCreation: false },
    'enable.idempotence': true,
    partitioner: 'murmur2_random',
    'linger.ms': 0,
    'message.timeout.ms': options.publishTimeoutMs,
    'message.max.bytes': messageMaxBytes(options),
    retries: 2_147_483_647,
  });
}

/**
 * librdkafka's client-side limit on a record (its default, 1,000,000 bytes, counts the headers
 * and framing too, so a payload of exactly `maxPayloadBytes` would be refused before it is
 * sent): room for the largest payload and its headers. The broker's own limit still applies.
 */
export function messageMaxBytes(options: ResolvedKafkaOptions): number {
  return Math.max(1_048_576, options.maxPayloadBytes + 65_536);
}

/**
 * Connects the admin client and the idempotent producer, or fails with a credential-free
 * `ConnectionError` saying what was found at the broker addresses and what to do.
 *
 * Plaintext broker addresses of a client the bus builds are probed first (see probe.ts): when no
 * address answers as a Kafka broker (another service's port, nothing listening, a silent port)
 * the create fails then, before any librdkafka client exists — a librdkafka client that cannot
 * reach a broker gives up on its connect only after its 30 s metadata timeout, and holds the
 * process meanwhile. Otherwise the clients connect within what is left of `connectTimeoutMs`, and
 * on failure are disconnected (bounded) before the error.
 */
export async function connectClients(
  kafka: Kafka,
  options: ResolvedKafkaOptions,
  lastError: () => string | undefined = () => undefined,
  release: () => void = () => undefined,
): Promise<{ admin: Admin; producer: Producer }> {
  const deadline = Date.now() + options.connectTimeoutMs;
  // a TLS address would need a TLS probe; a client passed in has no addresses of ours
  const probes =
    options.kafka || options.ssl
      ? undefined
      : probeBrokers(options.brokers, options.clientId, Math.min(options.connectTimeoutMs, PROBE_MS));
  if (probes) {
    const findings = await probes.findings;
    if (
      !findings.some(
        (f) =>
          f.finding.kind === 'kafka' || (f.finding.kind === 'unreachable' && f.finding.reason === 'timeout'),
      )
    ) {
      release();
      throw connectError(
        new Error('no broker address answered as a Kafka broker'),
        options,
        undefined,
        findings,
      );
    }
  }
  const admin = kafka.admin();
  const producer = createProducer(kafka, options);
  let seen: string | undefined;
  try {
    await connectWithin(
      [admin, producer],
      Math.max(1, deadline - Date.now()),
      `no answer within ${options.connectTimeoutMs} ms`,
      DISCONNECT_WAIT_MS,
      () => {
        seen = lastError(); // before the release, whose errors say nothing about the broker
        release();
      },
    );
  } catch (error) {
    throw connectError(error, options, seen, probes ? await probes.findings : []);
  }
  return { admin, producer };
}
