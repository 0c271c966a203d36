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

/** A publish found no stream listening on its subject. */
export function isNoStreamForPublish(error: unknown): boolean {
  return (
    /no responders|no stream matches|stream not found/i.test(text(error)) ||
    (error as ClientError)?.code === 503
  );
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
