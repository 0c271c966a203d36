/** How the NATS client's errors are recognised; one place for the codes and messages. */

interface ClientError {
  name?: string;
  code?: unknown;
  status?: number;
  message?: string;
}

const text = (error: unknown) => (error as ClientError)?.message ?? '';

/** The stream does not exist (JetStream API answer to an info request). */
export function isStreamNotFound(error: unknown): boolean {
  const e = error as ClientError;
  return (
    e?.name === 'StreamNotFoundError' ||
    e?.code === 10059 ||
    e?.status === 404 ||
    /stream not found/i.test(text(error))
  );
}

/**
 * A publish found no stream listening on its subject (@nats-io/jetstream reports
 * the server's "no responders" as `JetStreamNotEnabled`).
 */
export function isNoStreamForPublish(error: unknown): boolean {
  return (
    /no responders|no stream matches|stream not found/i.test(text(error)) ||
    (error as ClientError)?.name === 'JetStreamNotEnabled' ||
    (error as ClientError)?.code === 503
  );
}

/** A publish's `Nats-Expected-Last-Subject-Sequence` did not hold: the subject already has an entry. */
export function isWrongLastSequence(error: unknown): boolean {
  return (error as ClientError)?.code === 10071 || /wrong last sequence/i.test(text(error));
}

/** The consumer does not exist (JetStream API answer). */
export function isConsumerNotFound(error: unknown): boolean {
  const e = error as ClientError;
  return e?.name === 'ConsumerNotFoundError' || e?.code === 10014 || /consumer not found/i.test(text(error));
}

/** A pull failed because its consumer is gone: not found, deleted while pulling, or nobody answers for it. */
export function isConsumerGone(error: unknown): boolean {
  return isConsumerNotFound(error) || /consumer deleted|no responders/i.test(text(error));
}

/** The first connection timed out: no NATS greeting (`INFO`) arrived in time. */
export function isConnectTimeout(error: unknown): boolean {
  const e = error as ClientError;
  return e?.name === 'TimeoutError' || /^timeout$/i.test(text(error));
}

/** The server answered, but not as a NATS server (an HTTP or other protocol port). */
export function isNotNatsProtocol(error: unknown): boolean {
  return /unexpected response from server/i.test(text(error));
}

/** Nothing listens at the address (the TCP connection was refused). */
export function isConnectionRefused(error: unknown): boolean {
  const e = error as ClientError & { cause?: ClientError };
  return (
    e?.code === 'ECONNREFUSED' ||
    e?.cause?.code === 'ECONNREFUSED' ||
    /ECONNREFUSED|connection refused/i.test(text(error))
  );
}

/** The host name does not resolve. */
export function isHostNotFound(error: unknown): boolean {
  const e = error as ClientError;
  return e?.code === 'ENOTFOUND' || e?.code === 'EAI_AGAIN' || /ENOTFOUND|EAI_AGAIN/.test(text(error));
}

/**
 * A publish that failed because the connection or the server was away (a
 * timeout, a closed or reconnecting connection, JetStream not answering yet,
 * a clustered stream between leaders):
 * worth retrying once the server is back.
 */
export function isOutage(error: unknown): boolean {
  const e = error as ClientError;
  return (
    e?.name === 'TimeoutError' ||
    // nobody answered on the stream's subject: @nats-io/jetstream reports such a "no responders"
    // as JetStream not enabled, which is what a clustered stream electing a new leader looks like
    // (the connection verified JetStream when it opened, so this is passing)
    e?.name === 'JetStreamNotEnabled' ||
    /jetstream (is )?not enabled/i.test(text(error)) ||
    e?.code === 'TIMEOUT' ||
    e?.code === 503 ||
    /timeout|timed out|no responders|disconnect|connection (closed|lost)|reconnect/i.test(text(error))
  );
}

/**
 * A publish the server certainly did not store: JetStream answered with an error
 * (a stream limit, a message over the stream's size limit, …) or nobody answered
 * on the subject (no stream, or a clustered stream between leaders). A timeout or
 * a lost connection is not one: that message may have been stored.
 */
export function isPublishRefused(error: unknown): boolean {
  const e = error as ClientError & { apiError?: unknown };
  return (
    typeof e?.apiError === 'function' || // JetStreamApiError and its subclasses: the stream answered
    e?.name === 'JetStreamNotEnabled' || // how @nats-io/jetstream reports "no responders"
    e?.code === 503 ||
    /no responders/i.test(text(error))
  );
}
