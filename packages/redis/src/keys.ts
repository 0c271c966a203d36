/**
 * Key layout. Every key of one bus carries the same hash tag (`{<prefix>}`), so in
 * a Redis Cluster a bus lives in one slot: multi-key scripts and multi-stream
 * reads work unchanged, at the price of one shard holding the whole bus (use
 * several prefixes to spread independent buses).
 */
export class Keys {
  readonly tag: string;
  /** Set of every subject ever published (maintained by the publish script). */
  readonly registry: string;
  /** Pub/sub channel announcing a subject's first publish. */
  readonly newSubjects: string;
  /** Hash: subject → its birth number (the counter's value at its first publish). */
  readonly births: string;
  /** Counter of subject births (see REGISTER_GROUP). */
  readonly birthCounter: string;

  constructor(prefix: string) {
    this.tag = `{${prefix}}`;
    this.registry = `${this.tag}:subjects`;
    this.newSubjects = `${this.tag}:subjects:new`;
    this.births = `${this.tag}:subjects:born`;
    this.birthCounter = `${this.tag}:subjects:births`;
  }

  /** The stream of one subject. */
  stream(subject: string): string {
    return `${this.tag}:s:${subject}`;
  }

  /** The subject of a stream key. */
  subjectOf(stream: string): string {
    return stream.slice(this.tag.length + 3);
  }

  /** Marks a publisher-chosen id as seen for the dedupe window. */
  dedupe(subject: string, id: string): string {
    return `${this.tag}:d:${subject}:${id}`;
  }

  /** A named group's registration: hash of pattern → start position (see group-registry.ts). */
  group(name: string): string {
    return `${this.tag}:group:${name}`;
  }

  /** Sorted set of a group's entries waiting for redelivery, scored by due time. */
  due(group: string): string {
    return `${this.tag}:due:${group}`;
  }
}

/**
 * A due-set member: stream key and entry id with both id parts zero-padded, so
 * that members due at the same millisecond sort in stream order.
 */
export function dueMember(stream: string, entryId: string): string {
  const [ms = '0', seq = '0'] = entryId.split('-');
  return `${stream}\n${ms.padStart(16, '0')}-${seq.padStart(10, '0')}`;
}
