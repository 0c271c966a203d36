// kafkajs 2.2.4 (its issues #1751 and #1704) hands setTimeout a negative delay after every broker
// response: a 1 ms timer loop per connection, and on Node 24 a `TimeoutNegativeWarning` on stderr.
// A short session (create, publish, consume one, stay idle, close) runs in a child process on this
// Node — and on the Node of OMNIBUS_NODE24, when set — recording every negative delay anything in
// the process hands setTimeout. Node 20 emits no such warning (checked: it sets the delay to 1 ms
// silently), so there the test proves the cause is gone: no negative delay at all.
import { spawn } from 'node:child_process';
import { uniqueName, withBroker } from '@omnibus/testing';
import { afterAll, expect, it } from 'vitest';
import { deleteTopics } from './kafka-admin.js';

const DIST = new URL('../dist/index.js', import.meta.url).href;

/** The child: record negative setTimeout delays (with where they came from), run the session, report. */
const CHILD = `
const [dist, brokers, prefix] = process.argv.slice(1);
const negative = [];
const setTimeoutOf = globalThis.setTimeout;
globalThis.setTimeout = function (callback, ms, ...args) {
  if (typeof ms === 'number' && ms < 0) negative.push(new Error().stack.split('\\n')[2]?.trim());
  return setTimeoutOf.call(this, callback, ms, ...args);
};
const { createKafkaBus } = await import(dist);
const bus = await createKafkaBus({ brokers: brokers.split(','), topicPrefix: prefix, groupPrefix: prefix });
await bus.publish('timers.x', 'hello');
const sub = await bus.subscribe('timers.x', { from: 'earliest' });
for await (const m of sub) break;
// idle: kafkajs's loop, where it runs, keeps handing negative delays
await new Promise((resolve) => setTimeoutOf(resolve, 300));
await bus.close();
console.log(JSON.stringify({ negative: negative.length, first: negative.slice(0, 3) }));
`;

interface Session {
  stderr: string;
  negative: number;
  first: string[];
}

function session(node: string, brokers: readonly string[], prefix: string): Promise<Session> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, ['--input-type=module', '--eval', CHILD, DIST, brokers.join(','), prefix], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const giveUp = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(giveUp);
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{'))
        return reject(new Error(`the session failed (exit ${code}): ${stdout}\n${stderr}`));
      resolve({ stderr, ...(JSON.parse(line) as { negative: number; first: string[] }) });
    });
  });
}

await withBroker('kafka', (broker) => {
  const prefix = `${uniqueName('omnibus-timers')}.`;
  afterAll(() => deleteTopics([...broker.brokers], prefix));

  const nodes = [process.execPath, process.env.OMNIBUS_NODE24].filter((n): n is string => Boolean(n));
  for (const [i, node] of nodes.entries()) {
    it(`a Kafka session hands setTimeout no negative delay and prints no TimeoutNegativeWarning (${i === 0 ? `this Node, ${process.version}` : 'OMNIBUS_NODE24'})`, async () => {
      const result = await session(node, broker.brokers, `${prefix}${i}.`);
      expect(result.first).toEqual([]);
      expect(result.negative).toBe(0);
      expect(result.stderr).not.toContain('TimeoutNegativeWarning');
    });
  }
});
