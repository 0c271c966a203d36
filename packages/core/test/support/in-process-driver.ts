import type {
  BusDriver,
  DeliverySink,
  DriverSubscribeRequest,
  InboundDelivery,
  OutgoingMessage,
} from '../../src/driver.js';
import { subjectMatches } from '../../src/subject.js';
import type { Capabilities } from '../../src/types.js';

/** One queued message, with the attempt it will be delivered as. */
interface Queued {
  readonly message: OutgoingMessage;
  readonly attempt: number;
}

/** Where matching messages wait: an ungrouped subscription, or a group shared by its members. */
interface Target {
  readonly pattern: string;
  readonly queue: Queued[];
  readonly members: DeliverySink[];
  next: number;
}

/**
 * A tiny in-process transport for core's tests (core depends on no adapter): routes a publish
 * to every matching subscription and to one member of each matching group, respects the sink's
 * capacity, redelivers a nak with `attempt + 1` after its delay (a release of a message never
 * handed out goes back first, unchanged). No history, no dedupe.
 */
export function inProcessDriver(capabilities: Partial<Capabilities> = {}): BusDriver {
  const targets = new Set<Target>();
  const groups = new Map<string, Target>();
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const pump = (target: Target): void => {
    for (let tries = 0; target.queue.length > 0 && tries < target.members.length; ) {
      const sink = target.members[target.next++ % target.members.length] as DeliverySink;
      if (sink.capacity <= 0) {
        tries++;
        continue;
      }
      tries = 0;
      sink.push(delivery(target, target.queue.shift() as Queued));
    }
  };

  const delivery = (target: Target, { message, attempt }: Queued): InboundDelivery => ({
    id: message.id,
    subject: message.subject,
    payload: message.payload,
    headers: message.headers,
    publishedAt: message.publishedAt,
    attempt,
    ack: () => undefined,
    nak(delayMs, info) {
      if (info.reason === 'release' && !info.handedOut) {
        target.queue.unshift({ message, attempt });
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        target.queue.push({ message, attempt: attempt + 1 });
        pump(target);
      }, delayMs);
      timers.add(timer);
    },
  });

  return {
    backend: 'in-process',
    capabilities: {
      durable: false,
      replay: false,
      groups: true,
      dedupe: false,
      delayedNak: true,
      ordering: 'subject',
      groupBalance: 'message',
      wildcards: 'emulated',
      maxPayloadBytes: 1024 * 1024,
      ...capabilities,
    },
    publish(message) {
      for (const target of targets) {
        if (!subjectMatches(target.pattern, message.subject)) continue;
        target.queue.push({ message, attempt: 1 });
        pump(target);
      }
      return { duplicate: false };
    },
    async subscribe(request: DriverSubscribeRequest) {
      let target = request.group === undefined ? undefined : groups.get(request.group);
      if (!target) {
        target = { pattern: request.pattern, queue: [], members: [], next: 0 };
        targets.add(target);
        if (request.group !== undefined) groups.set(request.group, target);
      }
      const joined = target;
      joined.members.push(request.sink);
      request.sink.onCapacity(() => pump(joined));
      return {
        async stop() {
          joined.members.splice(joined.members.indexOf(request.sink), 1);
          if (request.group === undefined) targets.delete(joined);
        },
      };
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      targets.clear();
      groups.clear();
    },
  };
}
