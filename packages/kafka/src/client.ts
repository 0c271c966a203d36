// The Kafka client: @confluentinc/kafka-javascript's KafkaJS-shaped API (librdkafka underneath).
// One place imports it, so that the rest of the adapter names its types from here.
import confluent, { type KafkaJS } from '@confluentinc/kafka-javascript';

export const { Kafka, logLevel } = confluent.KafkaJS;
export type Kafka = KafkaJS.Kafka;
export type Admin = KafkaJS.Admin;
export type Producer = KafkaJS.Producer;
export type Consumer = KafkaJS.Consumer;
export type EachBatchPayload = KafkaJS.EachBatchPayload;
export type KafkaMessage = KafkaJS.KafkaMessage;
export type KafkaRecord = KafkaJS.Message;
export type IHeaders = KafkaJS.IHeaders;
export type RecordMetadata = KafkaJS.RecordMetadata;
export type SASLOptions = KafkaJS.SASLOptions;
export type ClientLogger = KafkaJS.Logger;
/** A partition as a rebalance names it (an offset where the assignment sets one). */
export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset?: number;
}

/** librdkafka's code of an error (`error.code`), when it has one. */
export function errorCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** librdkafka's error codes the adapter acts on. */
export const ErrorCodes = confluent.KafkaJS.ErrorCodes as unknown as Record<string, number>;
