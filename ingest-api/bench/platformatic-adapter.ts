import { ProduceAcks, Producer, compatibilityPartitioner } from '@platformatic/kafka';
import type { Kafka, ProducerBatch } from 'kafkajs';
import type { IngestConfig } from '../src/config.ts';

/**
 * Bench only (INGEST_VARIANT=platformatic): the subset of kafkajs' Kafka that
 * the produce pipeline uses (producer(): connect, sendBatch, disconnect), backed
 * by an @platformatic/kafka Producer with the same guarantees the API asks
 * for: acks=all, not idempotent, the Java client's murmur2 partitioning.
 * Admin calls (readiness) go to the kafkajs client given.
 */
export function platformaticAsKafkajs(config: Readonly<IngestConfig>, kafkajs: Kafka): Kafka {
  return {
    admin: (...args: Parameters<Kafka['admin']>) => kafkajs.admin(...args),
    producer: () => {
      const producer = new Producer({
        clientId: config.kafkaClientId,
        bootstrapBrokers: config.kafkaBrokers,
        idempotent: false,
        acks: ProduceAcks.ALL,
        autocreateTopics: false,
        partitioner: compatibilityPartitioner,
        timeout: config.produceTimeoutMs,
      });
      return {
        connect: async () => {},
        disconnect: () => producer.close(),
        sendBatch: async (batch: ProducerBatch) => {
          const messages = [];
          for (const { topic, messages: list } of batch.topicMessages ?? []) {
            for (const m of list) {
              messages.push({
                topic,
                key: m.key == null ? undefined : Buffer.isBuffer(m.key) ? m.key : Buffer.from(m.key),
                value: m.value as Buffer,
              });
            }
          }
          await producer.send({ messages });
          return [];
        },
      };
    },
  } as unknown as Kafka;
}
