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
      waitForLeaders: false,
      topics: wanted.map((topic) => ({ topic, numPartitions: s.partitions, replicationFactor: s.replicationFactor, configEntries })),
    });
    // kafkajs' own leader wait gives up on UNKNOWN_TOPIC_OR_PARTITION while the
    // controller is still propagating (seen with concurrent creators), so wait here.
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const meta = await admin.fetchTopicMetadata({ topics: wanted });
        if (meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) throw new Error(`topics ${wanted.join(', ')} have no leaders after 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
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
