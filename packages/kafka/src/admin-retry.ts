/**
 * Retries a kafkajs admin call that failed retriably — a topic created a moment ago whose leader
 * the broker asked does not know yet ("not the leader"), a group's coordinator still moving right
 * after the group is first named. Bounded: 10 tries, 100 ms more between each.
 */
export async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= 10 || (error as { retriable?: boolean })?.retriable !== true) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}
