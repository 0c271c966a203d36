// The built `omnibus` binary against every broker adapter, as a user runs it: publish and tail on
// each; groups and dlq on each whose bus has `capabilities.management` — a backend without it is
// reported (a `skipped:` test that checks the CLI says so, and a line on stderr), never silently
// left out. The handlers and consumers are in this test process; the CLI is a separate process.
import { type EventBus, type Message, REDRIVE_HEADERS, silentLogger } from '@omnibus/core';
import { createEventBusFromEnv } from '@omnibus/factory';
import {
  type AvailableBroker,
  type BrokerKind,
  SKIPPED_TITLE_PREFIX,
  uniqueName,
  withBroker,
} from '@omnibus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Finished, HAS_SCRIPT, inTerminal, omnibus, Running, stripAnsi } from './run-cli.js';

const ALL: readonly BrokerKind[] = ['redis', 'nats', 'kafka', 'rabbitmq'];
/** `OMNIBUS_TEST_CLI_BROKERS=redis,nats` narrows the run (the others are reported as skipped); default all. */
const chosen = process.env.OMNIBUS_TEST_CLI_BROKERS?.split(',').map((k) => k.trim()) ?? ALL;
const KINDS = ALL.filter((k) => chosen.includes(k));
for (const kind of ALL.filter((k) => !KINDS.includes(k))) {
  it(`${SKIPPED_TITLE_PREFIX}${kind}: left out by OMNIBUS_TEST_CLI_BROKERS=${chosen.join(',')}`, () => {
    expect(KINDS).not.toContain(kind);
  });
}

/** The URL the CLI and this process use: on Redis a key prefix of its own, so nothing else is seen. */
function urlFor(broker: AvailableBroker): string {
  return broker.kind === 'redis' ? `${broker.url}?keyPrefix=${uniqueName('cli')}` : broker.url;
}

async function openBus(url: string): Promise<EventBus> {
  return createEventBusFromEnv({ env: { OMNIBUS_URL: url }, logger: silentLogger });
}

interface Seen {
  id: string;
  attempt: number;
  headers: Readonly<Record<string, string>>;
  text: string;
}

/** JSON lines of a finished run's stdout. */
function jsonLines(run: Finished): Record<string, unknown>[] {
  return run.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

for (const kind of KINDS) {
  await withBroker(kind, async (broker) => {
    const url = urlFor(broker);
    const probe = await openBus(url);
    const management = probe.capabilities.management === true;
    const dedupe = probe.capabilities.dedupe;
    const replay = probe.capabilities.replay;
    await probe.close();
    const cli = (args: string[], options?: Parameters<typeof omnibus>[1]) =>
      omnibus(['--url', url, ...args], { timeoutMs: 60_000, ...options });
    /**
     * `tail <pattern> --count <count>` once it is live: pings on `pingSubject` (matched by the
     * pattern), each given 2 s to be printed, until one is. The ping is the tail's first line.
     */
    const liveTail = async (pattern: string, pingSubject: string, count: number) => {
      const tail = new Running(['--url', url, 'tail', pattern, '--count', String(count)], {
        timeoutMs: 60_000,
      });
      const pinger = await openBus(url);
      try {
        for (let i = 0; i < 25 && !tail.stdout.includes('\n') && tail.child.exitCode === null; i++) {
          await pinger.publish(pingSubject, `ping ${i}`);
          for (let w = 0; w < 20 && !tail.stdout.includes('\n'); w++)
            await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        await pinger.close();
      }
      expect(tail.stdout, tail.stderr).toContain(pingSubject);
      return tail;
    };

    describe(`omnibus on ${kind}`, () => {
      let bus: EventBus;
      beforeAll(async () => {
        bus = await openBus(url);
      });
      afterAll(async () => {
        await bus?.close();
      });

      it(`publish (argument, stdin, --id, --header), then ${replay ? 'tail --from earliest' : 'a tail started before (no replay)'} shows each: time, subject, id, attempt, headers, payload`, async () => {
        const u = uniqueName('t');
        const subject = `clitest.${u}.created`;
        // without replay, tail must be live before the publishes: it prints one ping first
        const live = replay ? undefined : await liveTail(`clitest.${u}.>`, `clitest.${u}.ping`, 3);
        const first = await cli([
          'publish',
          subject,
          '{"order":1}',
          '--id',
          `${u}-1`,
          '-H',
          'tenant=acme',
          '-H',
          'note=two words',
        ]);
        expect(first.code, first.stderr).toBe(0);
        expect(first.stdout).toMatch(new RegExp(`^published ${u}-1 to ${subject.replace(/\./g, '\\.')}`));
        const second = await cli(['publish', subject, '-', '--id', `${u}-2`], {
          input: 'line one\nline two',
        });
        expect(second.code, second.stderr).toBe(0);
        if (dedupe) {
          const again = await cli(['publish', subject, '{"order":1}', '--id', `${u}-1`]);
          expect(again.code).toBe(0);
          expect(again.stdout).toContain(`duplicate ${u}-1`);
        }

        const text = live
          ? await live.done
          : await cli(['tail', `clitest.${u}.>`, '--from', 'earliest', '--count', '2']);
        expect(text.code, text.stderr).toBe(0);
        const lines = text.stdout
          .trim()
          .split('\n')
          .filter((l) => !l.includes(`clitest.${u}.ping`));
        expect(lines).toHaveLength(2);
        expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z {2}/);
        for (const part of [subject, `${u}-1`, 'attempt=1', 'tenant=acme', 'note="two words"', '{"order":1}'])
          expect(lines[0]).toContain(part);
        expect(lines[1]).toContain(`${u}-2`);
        expect(lines[1]).toContain('line one\\nline two');

        if (!replay) return; // the text lines above showed the same messages
        const json = await cli(['tail', `clitest.${u}.>`, '--from', 'earliest', '--count', '2', '--json']);
        expect(json.code, json.stderr).toBe(0);
        const [a, b] = jsonLines(json);
        expect(a).toMatchObject({
          subject,
          id: `${u}-1`,
          attempt: 1,
          headers: { tenant: 'acme', note: 'two words' },
          payload: '{"order":1}',
        });
        expect(Number.isNaN(Date.parse(a?.time as string))).toBe(false);
        expect(b).toMatchObject({ id: `${u}-2`, payload: 'line one\nline two' });
      });

      it('tail is live: a message published while it runs is printed', async () => {
        const u = uniqueName('live');
        const subject = `clitest.${u}.ping`;
        const tail = new Running(['--url', url, 'tail', `clitest.${u}.*`, '--count', '1'], {
          timeoutMs: 60_000,
        });
        // the subscription is live at some point after start: publish until tail has printed one
        for (let i = 0; i < 100 && tail.child.exitCode === null; i++) {
          await bus.publish(subject, `ping ${i}`);
          await new Promise((r) => setTimeout(r, 300));
        }
        const run = await tail.done;
        expect(run.code, run.stderr).toBe(0);
        expect(run.stdout).toMatch(
          new RegExp(`${subject.replace(/\./g, '\\.')} .* attempt=1 {2}ping \\d+\\n$`),
        );
      });

      it('bench: publishes and receives every message, reports rates and latency', async () => {
        const run = await cli(['bench', '--count', '200', '--json']);
        expect(run.code, run.stderr).toBe(0);
        const result = JSON.parse(run.stdout);
        expect(result).toMatchObject({ backend: kind, published: 200, received: 200 });
        expect(result.latencyMs.p50).toBeGreaterThan(0);
      });

      if (!management) {
        // the bus declares no management API (capabilities.management, in the capability table):
        // the commands that need it say so and fail, and nothing else of them can be tested here
        it('groups, dlq list and console each exit 1 saying the bus has no management API', async () => {
          for (const args of [['groups'], ['dlq', 'list'], ['console', '--port', '0']]) {
            const run = await cli(args);
            expect(run.code, args.join(' ')).toBe(1);
            expect(run.stderr).toMatch(/no management API/);
          }
        });
        return;
      }

      it('a dead letter made on purpose → dlq list shows it → dlq redrive --rate 100 → the handler sees it at attempt 1 with the audit headers → dlq list is empty', async () => {
        const u = uniqueName('dl');
        const subject = `clitest.${u}.order`;
        const group = `cli-${u}`;
        const seen: Seen[] = [];
        const consumer = await bus.consume(
          subject,
          (m: Message) => {
            seen.push({ id: m.id, attempt: m.attempt, headers: { ...m.headers }, text: m.text() });
            if (m.headers[REDRIVE_HEADERS.count] === undefined) throw new Error('card declined (on purpose)');
          },
          { group, maxAttempts: 1 },
        );
        try {
          await bus.publish(subject, '{"order":42}', { id: `${u}-42`, headers: { tenant: 'acme' } });
          const filter = ['--subject', `clitest.${u}.>`];
          const listed = await eventually(async () => {
            const run = await cli(['dlq', 'list', ...filter, '--json']);
            return run.code === 0 && run.stdout.trim() ? run : undefined;
          }, 'the dead letter listed');
          const [dl] = jsonLines(listed);
          expect(dl).toMatchObject({
            id: `${u}-42`,
            subject,
            group,
            attempts: 1,
            redriveCount: 0,
            payload: '{"order":42}',
          });
          expect(dl?.error).toContain('card declined (on purpose)');

          const table = await cli(['dlq', 'list', ...filter]);
          expect(table.code).toBe(0);
          expect(table.stdout).toMatch(/^REF +DEAD-LETTERED AT +SUBJECT +GROUP +ATTEMPTS +REDRIVES +ERROR/);
          expect(table.stdout).toContain(subject);
          expect(table.stdout).toContain('card declined');

          const show = await cli(['dlq', 'show', dl?.ref as string]);
          expect(show.code, show.stderr).toBe(0);
          expect(show.stdout).toContain('{"order":42}');
          expect(show.stdout).toMatch(/error +Error: card declined|error +.*card declined/);

          const redrive = await cli(['dlq', 'redrive', ...filter, '--rate', '100']);
          expect(redrive.code, redrive.stderr).toBe(0);
          expect(redrive.stdout).toMatch(/^redrove 1 dead letter to their original subjects in /);

          const back = await eventually(
            async () => seen.find((s) => s.headers[REDRIVE_HEADERS.count] !== undefined),
            'the redriven message handled',
          );
          expect(back).toMatchObject({ id: `${u}-42`, attempt: 1, text: '{"order":42}' });
          expect(back.headers).toMatchObject({ tenant: 'acme', [REDRIVE_HEADERS.count]: '1' });
          expect(Number.isNaN(Date.parse(back.headers[REDRIVE_HEADERS.at] as string))).toBe(false);
          expect(back.headers[REDRIVE_HEADERS.reason]).toBe('failed after 1 attempts');
          expect(back.headers[REDRIVE_HEADERS.group]).toBe(group); // whose failure it was
          expect(Object.keys(back.headers).filter((h) => h.startsWith('omnibus-dlq-'))).toEqual([]);

          const empty = await cli(['dlq', 'list', ...filter]);
          expect(empty.code).toBe(0);
          expect(empty.stdout).toBe('');
          expect(empty.stderr).toContain('no dead letters');
        } finally {
          await consumer.close();
        }
      }, 150_000);

      it('groups shows lag falling to 0 as a consumer catches up (--watch, and the table)', async () => {
        const u = uniqueName('lag');
        const subject = `clitest.${u}.job`;
        const group = `cli-${u}`;
        await (await bus.consume(subject, () => undefined, { group })).close(); // the group exists, no member
        const count = 30;
        for (let i = 0; i < count; i++) await bus.publish(subject, `job ${i}`);

        const watch = new Running(
          ['--url', url, 'groups', '--watch', '--json', '--interval', '250', '--filter', group],
          { timeoutMs: 90_000 },
        );
        const lags = () =>
          watch.lines
            .map((l) => JSON.parse(l) as { group: string; lag?: number })
            .filter((g) => g.group === group);
        await watch.waitFor(() => lags().length > 0, 'a first figure for the group');
        const first = lags()[0] as { lag?: number };
        if (first.lag === undefined) {
          // the broker cannot tell: the CLI must say so, never a number
          process.stderr.write(`[omnibus:cli] ${kind}: groups() gives no lag; the table shows –\n`);
          watch.child.kill('SIGINT');
          await watch.done;
          const table = await cli(['groups', '--filter', group]);
          expect(table.stdout).toMatch(new RegExp(`${group} .* –`));
          return;
        }
        await watch.waitFor(() => lags().some((g) => (g.lag ?? 0) > 0), 'lag above 0 before any member runs');

        const consumer = await bus.consume(subject, () => new Promise((r) => setTimeout(r, 20)), { group });
        try {
          await watch.waitFor(
            () => lags().some((g) => g.lag === 0),
            'lag 0 once the consumer caught up',
            60_000,
          );
          watch.child.kill('SIGINT');
          const ended = await watch.done;
          expect(ended.code).toBe(0);
          const seq = lags().map((g) => g.lag as number);
          expect(Math.max(...seq)).toBeGreaterThan(0);
          expect(seq.at(-1)).toBe(0);
          // falling: never up again while nothing is published
          for (let i = 1; i < seq.length; i++) expect(seq[i]).toBeLessThanOrEqual(seq[i - 1] as number);

          const table = await cli(['groups', '--filter', group]);
          expect(table.code).toBe(0);
          const [head, row] = table.stdout.trim().split('\n');
          expect(head).toMatch(/^GROUP +PATTERN +MEMBERS +PENDING +LAG +REDELIVERED$/);
          // the PATTERN column is what the driver records (Kafka: its topic), so only the group is checked
          expect(row).toMatch(new RegExp(`^${group} +\\S`));
        } finally {
          await consumer.close();
        }
      }, 150_000);

      it('a redrive interrupted with SIGINT half way loses nothing, says how far it got, exits 130; run again, it finishes', async () => {
        const u = uniqueName('int');
        const subject = `clitest.${u}.bulk`;
        const group = `cli-${u}`;
        const total = 30;
        const ids = Array.from({ length: total }, (_, i) => `${u}-${i}`);
        const redriven = new Set<string>();
        const consumer = await bus.consume(
          subject,
          (m: Message) => {
            if (m.headers[REDRIVE_HEADERS.count] === undefined) throw new Error('failing on purpose');
            redriven.add(m.id);
          },
          { group, maxAttempts: 1 },
        );
        const filter = ['--subject', `clitest.${u}.>`];
        const deadIds = async () => {
          const run = await cli(['dlq', 'list', ...filter, '--all', '--json']);
          expect(run.code, run.stderr).toBe(0);
          return jsonLines(run).map((d) => d.id as string);
        };
        try {
          for (const id of ids) await bus.publish(subject, id, { id });
          await eventually(
            async () => ((await deadIds()).length === total ? true : undefined),
            `${total} dead letters`,
            60_000,
          );

          const redrive = new Running(['--url', url, 'dlq', 'redrive', ...filter, '--rate', '10'], {
            timeoutMs: 60_000,
          });
          await eventually(
            async () => (redriven.size >= 5 ? true : undefined),
            'a few redriven messages handled',
            30_000,
            50,
          );
          redrive.child.kill('SIGINT');
          const run = await redrive.done;
          expect(run.code, run.stderr).toBe(130);
          const summary = /interrupted: redrove (\d+) of (\d+) selected so far/.exec(run.stdout);
          expect(summary, run.stdout).not.toBeNull();
          const done = Number(summary?.[1]);
          expect(done).toBeGreaterThanOrEqual(5);
          expect(done).toBeLessThan(total);
          expect(run.stdout).toContain('nothing was lost');

          await eventually(
            async () => (redriven.size >= done ? true : undefined),
            `${done} redriven messages handled`,
          );
          const still = await deadIds();
          // every message is dead-lettered, republished, or both; removed exactly when republished
          expect([...new Set([...still, ...redriven])].sort()).toEqual([...ids].sort());
          expect(still.length + redriven.size).toBe(total);

          const rest = await cli(['dlq', 'redrive', ...filter]);
          expect(rest.code, rest.stderr).toBe(0);
          expect(rest.stdout).toMatch(new RegExp(`^redrove ${total - done} dead letters`));
          await eventually(async () => (redriven.size === total ? true : undefined), 'every message handled');
          expect(await deadIds()).toEqual([]);
        } finally {
          await consumer.close();
        }
      }, 150_000);

      it('dlq purge asks first: refused without --yes when stdin is not a terminal (exit 2), --dry-run changes nothing, --yes purges', async () => {
        const u = uniqueName('purge');
        const subject = `clitest.${u}.gone`;
        const consumer = await bus.consume(
          subject,
          () => {
            throw new Error('failing on purpose');
          },
          { group: `cli-${u}`, maxAttempts: 1 },
        );
        const filter = ['--subject', `clitest.${u}.>`];
        try {
          await bus.publish(subject, 'a');
          await bus.publish(subject, 'b');
          await eventually(async () => {
            const run = await cli(['dlq', 'list', ...filter, '--json']);
            return jsonLines(run).length === 2 ? true : undefined;
          }, 'two dead letters');
          const refused = await cli(['dlq', 'purge', ...filter]);
          expect(refused.code).toBe(2);
          expect(refused.stderr).toMatch(/purge would remove 2 dead letters .*add --yes/);
          const dry = await cli(['dlq', 'purge', ...filter, '--dry-run']);
          expect(dry.code).toBe(0);
          expect(dry.stdout).toMatch(/dry run: would purge 2 dead letters/);
          expect(jsonLines(await cli(['dlq', 'list', ...filter, '--json']))).toHaveLength(2);
          if (HAS_SCRIPT) {
            // on a terminal it asks: "n" keeps them (exit 1), "y" purges (here the one --ref names)
            const [first] = jsonLines(await cli(['dlq', 'list', ...filter, '--json']));
            const no = inTerminal(['--url', url, 'dlq', 'purge', ...filter], { input: 'n\n' });
            expect(stripAnsi(no.stdout)).toMatch(/Purge 2 dead letters .*\[y\/N\]/);
            expect(no.stdout).toContain('not confirmed: nothing purged');
            expect(no.code).toBe(1);
            const yes = inTerminal(['--url', url, 'dlq', 'purge', '--ref', first?.ref as string], {
              input: 'y\n',
            });
            expect(yes.code, yes.stdout).toBe(0);
            expect(stripAnsi(yes.stdout)).toMatch(/purged 1 dead letter/);
          }
          const purged = await cli(['dlq', 'purge', ...filter, '--yes']);
          expect(purged.code, purged.stderr).toBe(0);
          expect(purged.stdout).toMatch(HAS_SCRIPT ? /^purged 1 dead letter / : /^purged 2 dead letters/);
          expect(jsonLines(await cli(['dlq', 'list', ...filter, '--json']))).toHaveLength(0);
        } finally {
          await consumer.close();
        }
      }, 150_000);

      it(`${HAS_SCRIPT ? '' : `${SKIPPED_TITLE_PREFIX}no script(1) to give the CLI a terminal: `}on a terminal, a long redrive shows a progress bar with rate and ETA, in colour`, async () => {
        if (!HAS_SCRIPT) return;
        const u = uniqueName('tty');
        const subject = `clitest.${u}.bar`;
        const consumer = await bus.consume(
          subject,
          (m: Message) => {
            if (m.headers[REDRIVE_HEADERS.count] === undefined) throw new Error('failing on purpose');
          },
          { group: `cli-${u}`, maxAttempts: 1 },
        );
        const filter = ['--subject', `clitest.${u}.>`];
        try {
          for (let i = 0; i < 60; i++) await bus.publish(subject, `m${i}`);
          await eventually(
            async () => {
              const run = await cli(['dlq', 'list', ...filter, '--all', '--json']);
              return jsonLines(run).length === 60 ? true : undefined;
            },
            '60 dead letters',
            60_000,
          );
          const run = inTerminal(['--url', url, 'dlq', 'redrive', ...filter, '--rate', '25']);
          expect(run.code, run.stdout).toBe(0);
          expect(stripAnsi(run.stdout)).toMatch(/redrive .*\d+\/60 \| \d+ msg\/s \| ETA/);
          expect(stripAnsi(run.stdout)).toMatch(/redrove 60 dead letters/);
          expect(run.stdout).toContain('\u001b['); // colour on a terminal
        } finally {
          await consumer.close();
        }
      }, 150_000);
    });
  });
}
