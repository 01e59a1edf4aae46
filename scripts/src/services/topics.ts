import { Kafka, logLevel } from 'kafkajs';
import { ALL_TOPICS, topicName } from '@storepulse/contracts';

export interface TopicSettings {
  brokers: string[];
  prefix: string;
  partitions: number;
  replicationFactor: number;
  minInsyncReplicas?: number | undefined;
}

/** Creates the project's topics (idempotent). Returns the names it created. */
export async function ensureTopics(s: TopicSettings): Promise<string[]> {
  const kafka = new Kafka({ clientId: 'storepulse-setup', brokers: s.brokers, logLevel: logLevel.NOTHING, retry: { retries: 5 } });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted = ALL_TOPICS.map((t) => topicName(s.prefix, t)).filter((t) => !existing.has(t));
    if (wanted.length === 0) return [];
    const configEntries = s.minInsyncReplicas ? [{ name: 'min.insync.replicas', value: String(s.minInsyncReplicas) }] : [];
    await admin.createTopics({
      waitForLeaders: true,
      topics: wanted.map((topic) => ({ topic, numPartitions: s.partitions, replicationFactor: s.replicationFactor, configEntries })),
    });
    return wanted;
  } finally {
    await admin.disconnect();
  }
}

/** True when a Kafka broker answers a metadata request at these addresses. */
export async function kafkaAnswers(brokers: string[], timeoutMs = 3000): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'storepulse-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
