import { Kafka, logLevel } from 'kafkajs';

/** Deletes every topic (and consumer group) whose name starts with `prefix` (test clean-up). */
export async function deleteTopics(brokers: string[], prefix: string): Promise<void> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const { groups } = await admin.listGroups();
    const mine = groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (mine.length > 0) await admin.deleteGroups(mine).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}
