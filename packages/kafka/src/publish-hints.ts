/** What to do about a failed publish, for the failures whose fix is known; undefined otherwise. */
export function publishHint(error: unknown): string | undefined {
  const type = String((error as { type?: unknown })?.type ?? '');
  const text = `${type} ${(error as Error)?.message ?? error}`;
  if (/no acknowledgement within/.test(text))
    return 'the broker is down or unreachable (bus.health() tells): publish again once it answers; Kafka has no dedupe, so the message may then be stored twice. A slow cluster may need a larger publishTimeoutMs';
  if (
    /MESSAGE_TOO_LARGE|MSG_SIZE_TOO_LARGE|larger than the max message size|Message size too large/i.test(text)
  )
    return "the record is larger than the topic's max.message.bytes: raise that on the topic (or the broker's message.max.bytes), or set maxPayloadBytes below it so that publish refuses such payloads before sending";
  if (/TOPIC_AUTHORIZATION_FAILED|Not authorized to access topics|Topic authorization failed/i.test(text))
    return "the broker's ACLs refuse this user on the topic: grant it WRITE (and CREATE, DESCRIBE for new topics), or use a topicPrefix it may write to";
  return undefined;
}
