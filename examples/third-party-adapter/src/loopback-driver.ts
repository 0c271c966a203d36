import {
  type BusDriver,
  type Capabilities,
  ConfigError,
  type DeliverySink,
  type DriverReceipt,
  type DriverSubscribeRequest,
  type DriverSubscription,
  type InboundDelivery,
  type OutgoingMessage,
  type SettleInfo,
  subjectMatches,
} from '@omnibus/core';

interface Waiting {
  readonly message: OutgoingMessage;
  /** Publish order: a message given back unseen goes back to its place. */
  readonly sequence: number;
  readonly attempt: number;
}

/**
 * Where messages for one subscription — or one group, shared by its members —
 * wait for room in a member's sink. It never pushes more than a sink's capacity
 * (that is how `maxInFlight` works), hands a group's messages round-robin to the
 * members with room, and puts a nakked message back after its delay with the next
 * attempt number. A group's target outlives its members, as a broker's consumer
 * group would; an ungrouped subscription's ends with it.
 */
class Target {
  readonly #waiting: Waiting[] = [];
  readonly #members: DeliverySink[] = [];
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #next = 0;
  #closed = false;

  constructor(
    readonly pattern: string,
    readonly group: string | undefined,
  ) {}

  join(sink: DeliverySink): DriverSubscription {
    this.#members.push(sink);
    sink.onCapacity(() => this.#pump());
    this.#pump();
    return {
      stop: async () => {
        this.#members.splice(this.#members.indexOf(sink), 1);
        if (this.group === undefined) this.close();
      },
    };
  }

  offer(waiting: Waiting): void {
    if (this.#closed) return;
    let i = this.#waiting.length;
    while (i > 0 && (this.#waiting[i - 1] as Waiting).sequence > waiting.sequence) i--;
    this.#waiting.splice(i, 0, waiting);
    this.#pump();
  }

  #member(): DeliverySink | undefined {
    for (let i = 0; i < this.#members.length; i++) {
      const sink = this.#members[(this.#next + i) % this.#members.length] as DeliverySink;
      if (sink.capacity > 0) {
        this.#next = (this.#next + i + 1) % this.#members.length;
        return sink;
      }
    }
    return undefined;
  }

  #pump(): void {
    while (!this.#closed && this.#waiting.length > 0) {
      const sink = this.#member();
      if (sink === undefined) return;
      sink.push(this.#delivery(this.#waiting.shift() as Waiting));
    }
  }

  #delivery(waiting: Waiting): InboundDelivery {
    const { message, attempt } = waiting;
    return {
      id: message.id,
      subject: message.subject,
      payload: message.payload,
      headers: message.headers,
      publishedAt: message.publishedAt,
      attempt,
      ack: () => undefined,
      nak: (delayMs: number, info: SettleInfo) => {
        // a message given back unseen (its subscription closing) goes back to its place, same attempt
        if (info.reason === 'release' && !info.handedOut) return this.offer(waiting);
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          this.offer({ ...waiting, sequence: Number.MAX_SAFE_INTEGER, attempt: attempt + 1 });
        }, delayMs);
        this.#timers.add(timer);
      },
    };
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#waiting.length = 0;
  }
}

/**
 * The transport half of the loopback bus: what is published goes to every
 * subscription and group whose pattern matches, in publish order. No history,
 * no dedupe, nothing survives the process — and its capabilities say so, so core
 * refuses what needs them and the conformance suite reports those groups as
 * unsupported.
 */
export class LoopbackDriver implements BusDriver {
  readonly backend = 'loopback';
  readonly capabilities: Readonly<Capabilities>;
  readonly capabilityHints = {
    replay: 'the loopback bus keeps no history: use @omnibus/memory with history: true',
  };
  readonly #targets = new Set<Target>();
  readonly #groups = new Map<string, Target>();
  #sequence = 0;

  constructor(maxPayloadBytes: number) {
    this.capabilities = {
      durable: false,
      replay: false,
      groups: true,
      dedupe: false,
      delayedNak: true,
      ordering: 'subject',
      groupBalance: 'message',
      wildcards: 'emulated',
      maxPayloadBytes,
    };
  }

  publish(message: OutgoingMessage): DriverReceipt {
    const sequence = ++this.#sequence;
    for (const target of this.#targets) {
      if (subjectMatches(target.pattern, message.subject)) target.offer({ message, sequence, attempt: 1 });
    }
    return { duplicate: false };
  }

  async subscribe({ pattern, group, sink }: DriverSubscribeRequest): Promise<DriverSubscription> {
    let target = group === undefined ? undefined : this.#groups.get(group);
    if (target !== undefined && target.pattern !== pattern)
      throw new ConfigError('group', `group "${group}" already consumes "${target.pattern}"`, {
        backend: 'loopback',
        hint: 'a group has one pattern: give this subscription a group name of its own',
      });
    if (target === undefined) {
      target = new Target(pattern, group);
      this.#targets.add(target);
      if (group !== undefined) this.#groups.set(group, target);
    }
    const subscription = target.join(sink);
    const created = target;
    return {
      stop: async () => {
        await subscription.stop();
        if (created.group === undefined) this.#targets.delete(created);
      },
    };
  }

  async close(): Promise<void> {
    for (const target of this.#targets) target.close();
    this.#targets.clear();
    this.#groups.clear();
  }
}
