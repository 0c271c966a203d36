// The other Kafka clients the adapter's client decision weighs, as raw peers of the Kafka bench:
// @confluentinc/kafka-javascript (librdkafka, its KafkaJS-shaped API) and @platformatic/kafka
// (pure JavaScript). Both are dependencies of the bench kit only (confluent an optional one: its
// native build is skipped where it cannot be made), loaded through it; a peer that is missing is
// left out with its reason. Each does what the kafkajs peer does: an idempotent producer with
// acks -1, sends awaited one at a time (never concurrent: @platformatic/kafka 1.x loses
// acknowledged messages with concurrent idempotent sends, its issue #326), and a consumer group
// committing after each batch.
import { importPeer, measureConsumeRate } from '@omnibus/bench-kit';

/** One raw client, as the bench drives it. */
export interface KafkaPeer {
  readonly label: string;
  /** Sends the records in one request and waits for the broker's acknowledgement. */
  send(topic: string, records: readonly { key: string; value: Buffer }[]): Promise<void>;
  /** A consumer group reading `topic` from its start until `n` messages came: messages per second. */
  consumeRate(topic: string, groupId: string, n: number): Promise<number>;
  close(): Promise<void>;
}

/** What the peers could not load, for the part's notes. */
export interface KafkaPeers {
  readonly peers: KafkaPeer[];
  readonly missing: string[];
}

type ConfluentModule = { KafkaJS: { Kafka: new (config: unknown) => ConfluentKafka } };
interface ConfluentKafka {
  producer(config: unknown): {
    connect(): Promise<void>;
    send(record: unknown): Promise<unknown>;
    disconnect(): Promise<void>;
  };
  consumer(config: unknown): {
    connect(): Promise<void>;
    subscribe(options: { topics: string[] }): Promise<void>;
    run(options: unknown): Promise<void>;
    commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
    disconnect(): Promise<void>;
  };
}
interface ConfluentBatch {
  batch: { topic: string; partition: number; messages: { offset: string }[] };
  resolveOffset(offset: string): void;
}

type PlatformaticModule = {
  Producer: new (
    options: unknown,
  ) => {
    send(options: unknown): Promise<unknown>;
    close(): Promise<void>;
  };
  Consumer: new (
    options: unknown,
  ) => {
    consume(
      options: unknown,
    ): Promise<AsyncIterable<{ commit(): Promise<void> | void }> & { close(): Promise<void> }>;
    close(): Promise<void>;
  };
  MessagesStreamModes: { EARLIEST: string };
  compatibilityPartitioner: unknown;
};

const silent = {
  info() {},
  debug() {},
  warn() {},
  error() {},
  setLogLevel() {},
  namespace() {
    return silent;
  },
};

async function confluentPeer(brokers: string[], module: ConfluentModule): Promise<KafkaPeer> {
  const kafka = new module.KafkaJS.Kafka({ kafkaJS: { brokers, logger: silent } });
  // linger.ms 0: its default (5 ms) waits that long before every awaited send
  const producer = kafka.producer({ kafkaJS: { idempotent: true, acks: -1 }, 'linger.ms': 0 });
  await producer.connect();
  return {
    label: 'raw @confluentinc/kafka-javascript',
    send: async (topic, records) => {
      await producer.send({ topic, messages: records });
    },
    consumeRate: (topic, groupId, n) =>
      measureConsumeRate(
        n,
        async (onMessage) => {
          const consumer = kafka.consumer({
            kafkaJS: { groupId, fromBeginning: true, autoCommit: false, maxWaitTimeInMs: 250 },
            'js.consumer.max.batch.size': 1_000,
          });
          await consumer.connect();
          await consumer.subscribe({ topics: [topic] });
          await consumer.run({
            eachBatchAutoResolve: false,
            eachBatch: async ({ batch, resolveOffset }: ConfluentBatch) => {
              for (const m of batch.messages) {
                onMessage();
                resolveOffset(m.offset);
              }
              const last = batch.messages.at(-1);
              if (last) {
                const offset = String(Number(last.offset) + 1);
                await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset }]);
              }
            },
          });
          return () => consumer.disconnect();
        },
        'raw confluent consume',
      ),
    close: () => producer.disconnect(),
  };
}

async function platformaticPeer(brokers: string[], module: PlatformaticModule): Promise<KafkaPeer> {
  const clientId = 'omnibus-bench';
  const producer = new module.Producer({
    clientId,
    bootstrapBrokers: brokers,
    idempotent: true,
    partitioner: module.compatibilityPartitioner,
  });
  return {
    label: 'raw @platformatic/kafka',
    send: async (topic, records) => {
      await producer.send({
        messages: records.map(({ key, value }) => ({ topic, key: Buffer.from(key), value })),
      });
    },
    consumeRate: (topic, groupId, n) =>
      measureConsumeRate(
        n,
        async (onMessage) => {
          const consumer = new module.Consumer({
            clientId,
            groupId,
            bootstrapBrokers: brokers,
            autocommit: false,
            maxWaitTime: 250,
          });
          const stream = await consumer.consume({
            topics: [topic],
            mode: module.MessagesStreamModes.EARLIEST,
            autocommit: false,
          });
          const reading = (async () => {
            let seen = 0;
            // a commit every 500 messages, as a batch commit would be
            for await (const m of stream) {
              onMessage();
              if (++seen % 500 === 0 || seen === n) await m.commit();
            }
          })().catch(() => undefined);
          return async () => {
            await stream.close();
            await reading;
            await consumer.close();
          };
        },
        'raw platformatic consume',
      ),
    close: () => producer.close(),
  };
}

/** Loads the peers that are installed and connects their producers; one that fails is left out, with why. */
export async function kafkaPeers(brokers: string[]): Promise<KafkaPeers> {
  const peers: KafkaPeer[] = [];
  const missing: string[] = [];
  const add = async <T>(specifier: string, make: (module: T) => Promise<KafkaPeer>) => {
    const loaded = await importPeer<T>(specifier);
    if (!('module' in loaded)) return void missing.push(loaded.missing);
    try {
      peers.push(await make(loaded.module));
    } catch (error) {
      missing.push(`${specifier} could not connect (${(error as Error)?.message ?? error})`);
    }
  };
  await add<ConfluentModule>('@confluentinc/kafka-javascript', (m) => confluentPeer(brokers, m));
  await add<PlatformaticModule>('@platformatic/kafka', (m) => platformaticPeer(brokers, m));
  return { peers, missing };
}
