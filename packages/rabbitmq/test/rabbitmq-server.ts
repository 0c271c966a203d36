import { execFileSync } from 'node:child_process';
import { Connection } from 'rabbitmq-client';

/**
 * Removes what a test run's buses declared: the exchange and every queue whose name starts
 * with `prefix` (listed with `rabbitmqctl` when it is installed; a container's broker keeps
 * its queues until the container goes).
 */
export async function deleteBusObjects(url: string, prefix: string): Promise<void> {
  let names: string[] = [];
  try {
    names = execFileSync('rabbitmqctl', ['list_queues', 'name', '--quiet', '--no-table-headers'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\n')
      .map((line) => line.trim())
      .filter((name) => name.startsWith(prefix));
  } catch {
    names = [];
  }
  await deleteQueues(url, names, prefix);
}

/** Deletes the named queues (a missing one is fine), and the exchange when one is named. */
export async function deleteQueues(url: string, queues: readonly string[], exchange?: string): Promise<void> {
  const connection = new Connection(url);
  try {
    await connection.onConnect(5_000);
    for (const queue of queues) await connection.queueDelete({ queue }).catch(() => undefined);
    if (exchange !== undefined) await connection.exchangeDelete({ exchange }).catch(() => undefined);
  } finally {
    await connection.close();
  }
}
