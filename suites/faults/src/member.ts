// A group member in a process of its own, for the consumer-crash scenario: it
// consumes with manual acks, prints "ack <id>" once an ack resolved, and after
// `stopAfter` acks SIGKILLs itself while still holding unacked messages. Its status
// events go out as "status <type> <detail>" lines: the scenario shows the last ones
// when it fails.
import { silentLogger } from '@omnibus/core';
import { createEventBus } from '@omnibus/factory';

const [url = '', subject = '', group = '', stopAfterText = 'Infinity'] = process.argv.slice(2);
const stopAfter = Number(stopAfterText);
const scheme = url.slice(0, url.indexOf(':'));
const backend = (scheme === 'amqp' ? 'rabbitmq' : scheme) as 'nats' | 'redis' | 'kafka' | 'rabbitmq';
const onStatus = ({ type, detail }: { type: string; detail?: string }) =>
  void process.stdout.write(`status ${type} ${(detail ?? '').replace(/\s+/g, ' ').slice(0, 200)}\n`);
const options =
  backend === 'kafka'
    ? // the suite's Kafka session (10 s): with 6 s, a loaded CI machine may miss heartbeats and
      // rebalance the group again and again (a CI run ran out of time with 222 messages to go)
      { backend, url, logger: silentLogger, onStatus, sessionTimeoutMs: 10_000 }
    : { backend, url, logger: silentLogger, onStatus };
const bus = await createEventBus(options);
let acked = 0;
await bus.consume(
  subject,
  async (message) => {
    if (acked >= stopAfter) {
      process.kill(process.pid, 'SIGKILL'); // a crash: the messages in flight stay unacked
      return new Promise(() => undefined);
    }
    await message.ack();
    acked++;
    process.stdout.write(`ack ${message.id}\n`);
  },
  { group, ack: 'manual', maxInFlight: 50, ackTimeoutMs: 2_000 },
);
process.stdout.write('ready\n');
