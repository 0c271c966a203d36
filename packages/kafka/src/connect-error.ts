import { ConnectionError, safeCause } from '@omnibus/core';
import type { ResolvedKafkaOptions } from './options.js';
import type { BrokerFinding, ProbeFinding } from './probe.js';

/**
 * What the finding at `broker` says, or undefined when it says nothing the client's error does
 * not. `alone`: the only broker address, already named by the message.
 */
function describe({ broker, finding }: BrokerFinding, alone: boolean): string | undefined {
  const it = alone ? 'the server there' : broker;
  switch (finding.kind) {
    case 'other':
      return `${it} answered as ${finding.service}, not as a Kafka broker`;
    case 'closed':
      return `${it} closed the connection without answering a Kafka request`;
    case 'silent':
      return `${it} accepted the connection but did not answer a Kafka request within ${finding.ms} ms`;
    case 'unreachable':
      if (finding.reason === 'refused')
        return `nothing is listening ${alone ? 'there' : `at ${broker}`} (connection refused)`;
      if (finding.reason === 'unresolved') return `the host ${alone ? '' : `of ${broker} `}does not resolve`;
      return undefined; // the client's own words are as good
    default:
      return undefined;
  }
}

/** True when the finding says the address is not a Kafka broker (another service's port). */
function notKafka(finding: ProbeFinding): boolean {
  return finding.kind === 'other' || finding.kind === 'closed' || finding.kind === 'silent';
}

const DEFAULT_PORT = 'Kafka listens on 9092 by default';
const FIX_URL = 'fix the url (OMNIBUS_URL, e.g. kafka://127.0.0.1:9092) or brokers';

/** The brokers whose finding passes `test`, comma-separated. */
function brokersWhere(findings: readonly BrokerFinding[], test: (finding: ProbeFinding) => boolean): string {
  return findings
    .filter((f) => test(f.finding))
    .map((f) => f.broker)
    .join(', ');
}

/** What the person reading the error can do, from what was found and what the client said. */
function hintFor(
  findings: readonly BrokerFinding[],
  clientText: string,
  options: ResolvedKafkaOptions,
): string {
  const slow = `on a slow network raise connectTimeoutMs (now ${options.connectTimeoutMs})`;
  const wrong = brokersWhere(findings, notKafka);
  if (wrong) {
    const tls = findings.some(
      (f) => f.finding.kind === 'closed' || (f.finding.kind === 'other' && /TLS/.test(f.finding.service)),
    );
    return [
      `is ${wrong} another service's port (Redis listens on 6379, NATS on 4222)? ${DEFAULT_PORT}: ${FIX_URL}`,
      ...(tls ? ['if the broker expects TLS, use kafka+ssl://… (or ssl: true)'] : []),
      ...(findings.some((f) => f.finding.kind === 'silent') ? [slow] : []),
    ].join('; ');
  }
  if (/SASL|authenticat/i.test(clientText))
    return 'check the credentials (kafka://user:password@… or sasl) and the SASL mechanism the broker expects';
  const kafka = brokersWhere(findings, (f) => f.kind === 'kafka');
  if (kafka)
    return `${kafka} answered as a Kafka broker: a host or port named above that is not in the url is one the broker advertises (advertised.listeners), and it must be reachable from here`;
  if (brokersWhere(findings, (f) => f.kind === 'unreachable' && f.reason === 'refused'))
    return `start Kafka there, or ${FIX_URL}: ${DEFAULT_PORT}`;
  if (brokersWhere(findings, (f) => f.kind === 'unreachable' && f.reason === 'unresolved'))
    return `check the host name: ${FIX_URL}`;
  return `check that Kafka runs there and is reachable from here (${DEFAULT_PORT}); ${slow}`;
}

/** `seen (error)` without saying the same thing twice. */
function clientWords(error: unknown, seen: string | undefined): string {
  const message = (error as Error)?.message ?? String(error);
  if (!seen || seen === message || seen.endsWith(`: ${message}`)) return seen ?? message;
  return `${seen} (${message})`;
}

/**
 * The `ConnectionError` of a failed first connect: what the probes found at each broker
 * address (another service's port, nothing listening, …) or else the client's own words, with
 * a hint saying what to do. Credential-free.
 */
export function connectError(
  error: unknown,
  options: ResolvedKafkaOptions,
  seen: string | undefined,
  findings: readonly BrokerFinding[],
): ConnectionError {
  const where = options.brokers.length > 0 ? options.brokers.join(',') : 'the given Kafka instance';
  const client = clientWords(error, seen);
  const found = findings
    .map((f) => describe(f, findings.length === 1))
    .filter((text): text is string => text !== undefined);
  return new ConnectionError(`cannot connect to ${where}: ${found.length > 0 ? found.join('; ') : client}`, {
    backend: 'kafka',
    cause: safeCause(error),
    hint: hintFor(findings, client, options),
  });
}
