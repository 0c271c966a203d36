// Bad input, per backend: each case must end in a typed error or a dead-letter,
// never in a partial publish (checked: nothing of a rejected publish reaches a
// live subscriber, and the bus's `published` count moves only for what was
// accepted) or in a dead consumer loop (checked: a good message after a bad one
// is still handled).
import { createServer, type Server } from 'node:net';
import {
  ConfigError,
  ConnectionError,
  DLQ_HEADERS,
  defineEvent,
  type EventBus,
  InvalidSubjectError,
  type Message,
  type OmnibusError,
  PayloadTooLargeError,
  type StandardSchemaV1,
  silentLogger,
  ValidationError,
} from '@omnibus/core';
import { createEventBus, createEventBusFromEnv, type EventBusConfig } from '@omnibus/factory';
import { sparePort } from '@omnibus/testing';
import { attempt, type CaseRow, errorName, isTyped } from './cases.js';
import type { Progress } from './scenarios.js';
import type { Target } from './targets.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How much longer than its connect timeout an unreachable broker may keep `createEventBus` waiting (ms). */
const CONNECT_SLACK_MS = 3_000;
const CONNECT_TIMEOUT_MS = 2_000;

async function until(check: () => boolean, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (!check() && Date.now() < deadline) await sleep(50);
  return check();
}

/** `{ n: number }`, as a hand-written Standard Schema (no validator library needed). */
const orderSchema: StandardSchemaV1<{ n: number }> = {
  '~standard': {
    version: 1,
    vendor: 'faults',
    validate: (value) =>
      typeof value === 'object' && value !== null && typeof (value as { n?: unknown }).n === 'number'
        ? { value: value as { n: number } }
        : { issues: [{ message: 'n must be a number', path: ['n'] }] },
  },
};

type ErrorType = abstract new (...args: never[]) => OmnibusError;

/**
 * Invalid publishes, payload limits and typed events on a live bus of `target`,
 * then (through `@omnibus/factory`) malformed URLs and configuration and
 * unreachable brokers.
 */
export async function badInput(target: Target, progress: Progress): Promise<CaseRow[]> {
  const { backend } = target;
  const rows: CaseRow[] = [];
  const say = (what: string) => progress(`${backend} · bad input · ${what}`);
  const bus = await target.createBus();
  try {
    rows.push(...(await publishCases(bus, backend, say)));
    rows.push(...(await typedCases(bus, backend, say)));
  } finally {
    await bus.close({ timeoutMs: 2_000 }).catch(() => undefined);
  }
  say('configuration');
  rows.push(...(await configCases(backend)));
  say('unreachable broker');
  rows.push(...(await unreachableCases(backend)));
  return rows;
}

/** Subjects and payloads: rejected ones must leave nothing behind. */
async function publishCases(bus: EventBus, backend: string, say: (what: string) => void): Promise<CaseRow[]> {
  const seen = new Map<string, Message>();
  const sink = await bus.consume('badin.>', (m) => {
    seen.set(m.id, m);
  });
  const publishedBefore = bus.stats().published;
  const rejected: { row: CaseRow; id: string }[] = [];
  const reject = async (
    name: string,
    id: string,
    type: ErrorType,
    code: string,
    action: () => Promise<unknown>,
  ) => {
    say(name);
    const r = await attempt(action);
    const row: CaseRow = {
      backend,
      case: name,
      expected: `${type.name} (${code}), nothing stored`,
      observed: r.failed ? errorName(r.error) : 'accepted',
      passed: r.failed && isTyped(r.error, type, code),
    };
    rejected.push({ row, id });
    return row;
  };
  const x = new TextEncoder().encode('x');
  const invalidSubjects: [string, string][] = [
    ['subject with a space', 'badin.with space'],
    ['subject with a tab', 'badin.with\ttab'],
    ['subject with an empty token', 'badin..x'],
    ['subject ending with a dot', 'badin.x.'],
    ['wildcard * in a published subject', 'badin.*'],
    ['wildcard > in a published subject', 'badin.>'],
    ['reserved prefix $', '$badin.x'],
    ['reserved prefix _', '_badin.x'],
    ['subject of 256 characters (limit 255)', `badin.${'a'.repeat(250)}`],
  ];
  for (const [i, [name, subject]] of invalidSubjects.entries()) {
    const id = `bad-subject-${i}`;
    await reject(name, id, InvalidSubjectError, 'INVALID_SUBJECT', () => bus.publish(subject, x, { id }));
  }
  await reject(
    'publishBatch with one invalid subject among valid ones',
    'bad-batch-subject-0',
    InvalidSubjectError,
    'INVALID_SUBJECT',
    () =>
      bus.publishBatch([
        { subject: 'badin.ok', payload: x, id: 'bad-batch-subject-0' },
        { subject: 'badin.not ok', payload: x, id: 'bad-batch-subject-1' },
      ]),
  );
  rejected.push({ row: rejected[rejected.length - 1]?.row as CaseRow, id: 'bad-batch-subject-1' });
  const limit = bus.capabilities.maxPayloadBytes;
  await reject(
    `payload one byte over the limit (${(limit + 1).toLocaleString('en')} B)`,
    'bad-payload-over',
    PayloadTooLargeError,
    'PAYLOAD_TOO_LARGE',
    () => bus.publish('badin.payload', new Uint8Array(limit + 1), { id: 'bad-payload-over' }),
  );
  await reject(
    'publishBatch with one payload over the limit',
    'bad-batch-payload-0',
    PayloadTooLargeError,
    'PAYLOAD_TOO_LARGE',
    () =>
      bus.publishBatch([
        { subject: 'badin.payload', payload: x, id: 'bad-batch-payload-0' },
        { subject: 'badin.payload', payload: new Uint8Array(limit + 1), id: 'bad-batch-payload-1' },
      ]),
  );
  rejected.push({ row: rejected[rejected.length - 1]?.row as CaseRow, id: 'bad-batch-payload-1' });

  // what must be accepted, and arrive whole
  const accepted: { row: CaseRow; id: string; check: (m: Message) => boolean }[] = [];
  const accept = async (name: string, id: string, subject: string, payload: Uint8Array) => {
    say(name);
    const r = await attempt(() => bus.publish(subject, payload, { id }));
    const row: CaseRow = {
      backend,
      case: name,
      expected: 'accepted and delivered whole',
      observed: r.failed ? errorName(r.error) : 'accepted',
      passed: !r.failed,
    };
    accepted.push({
      row,
      id,
      check: (m) => m.subject === subject && m.payload.byteLength === payload.byteLength,
    });
    return row;
  };
  await accept('subject of exactly 255 characters', 'ok-subject-255', `badin.${'b'.repeat(249)}`, x);
  await accept(
    `payload exactly at the limit (${limit.toLocaleString('en')} B)`,
    'ok-payload-limit',
    'badin.payload',
    new Uint8Array(limit).fill(9),
  );
  // a sentinel published last: once it arrived, everything published before it has too
  await bus.publish('badin.sentinel', x, { id: 'sentinel' });
  const arrived = await until(() => seen.has('sentinel'), 30_000);
  await sleep(500); // a straggler of a rejected publish would show now
  await sink.close().catch(() => undefined);
  const publishedDelta = bus.stats().published - publishedBefore;

  for (const { row, id } of rejected) {
    if (seen.has(id)) {
      row.passed = false;
      row.observed += `; but ${id} was stored and delivered`;
    }
  }
  for (const { row, id, check } of accepted) {
    const m = seen.get(id);
    if (!row.passed) continue;
    if (!m) {
      row.passed = false;
      row.observed = arrived ? 'accepted, never delivered' : 'accepted; the sentinel never arrived';
    } else if (!check(m)) {
      row.passed = false;
      row.observed = `accepted, delivered altered (${m.subject.length}-character subject, ${m.payload.byteLength} B)`;
    } else {
      row.observed = `accepted, delivered whole (${m.payload.byteLength.toLocaleString('en')} B, ${m.subject.length}-character subject)`;
    }
  }
  const rows = [...new Set([...rejected.map((r) => r.row), ...accepted.map((a) => a.row)])];
  const expectedDelta = accepted.filter((a) => a.row.passed).length + 1; // + the sentinel
  rows.push({
    backend,
    case: 'stats after the cases above',
    expected: `published grew by ${expectedDelta} (the accepted publishes and a sentinel)`,
    observed: `published grew by ${publishedDelta}`,
    passed: publishedDelta === expectedDelta,
  });
  return rows;
}

/** Typed events: undecodable and schema-invalid messages are dead-lettered; the consumer goes on. */
async function typedCases(bus: EventBus, backend: string, say: (what: string) => void): Promise<CaseRow[]> {
  const rows: CaseRow[] = [];
  const event = defineEvent('typed.order', orderSchema);
  const dead = new Map<string, Message>();
  const handled: string[] = [];
  const dlq = await bus.consume('dlq.typed.order', (m) => {
    dead.set(m.headers[DLQ_HEADERS.id] ?? m.id, m);
  });
  const consumer = await event.consume(bus, (_data, m) => void handled.push(m.id), { group: 'typed' });
  try {
    say('typed publish of invalid data');
    const invalid = await attempt(() =>
      event.publish(bus, { n: 'one' } as unknown as { n: number }, { id: 'typed-invalid' }),
    );
    const invalidRow: CaseRow = {
      backend,
      case: 'typed publish of schema-invalid data',
      expected: 'ValidationError (VALIDATION), nothing sent',
      observed: invalid.failed ? errorName(invalid.error) : 'accepted',
      passed: invalid.failed && isTyped(invalid.error, ValidationError, 'VALIDATION'),
    };
    rows.push(invalidRow);

    const poison = async (name: string, id: string, payload: string, reason: RegExp, good: string) => {
      say(name);
      await bus.publish('typed.order', payload, { id, headers: { 'content-type': 'application/json' } });
      await event.publish(bus, { n: 1 }, { id: good });
      const ok = await until(() => dead.has(id) && handled.includes(good), 30_000);
      const letter = dead.get(id);
      const why = letter?.headers[DLQ_HEADERS.reason] ?? '';
      const problems = [
        letter ? '' : 'not dead-lettered',
        letter && !reason.test(why) ? `dead-letter reason "${why}"` : '',
        handled.includes(id) ? 'handed to the handler' : '',
        handled.includes(good) ? '' : 'the good message after it was not handled (consumer loop dead?)',
      ].filter(Boolean);
      rows.push({
        backend,
        case: name,
        expected: 'dead-lettered with the reason; the next good message still handled',
        observed:
          problems.length === 0
            ? `dead-lettered (${DLQ_HEADERS.reason}: ${why.length > 90 ? `${why.slice(0, 89)}…` : why}); next message handled`
            : problems.join('; '),
        passed: ok && problems.length === 0,
      });
    };
    await poison(
      'typed event: undecodable JSON',
      'typed-bad-json',
      '{"n": 1,',
      /not valid JSON/,
      'typed-good-1',
    );
    await poison(
      'typed event: schema-invalid data',
      'typed-bad-schema',
      JSON.stringify({ n: 'one' }),
      /n must be a number/,
      'typed-good-2',
    );
    // the invalid typed publish must not have been sent
    if (handled.includes('typed-invalid') || dead.has('typed-invalid')) {
      invalidRow.passed = false;
      invalidRow.observed += '; but it was sent';
    }
  } finally {
    await consumer.close().catch(() => undefined);
    await dlq.close().catch(() => undefined);
  }
  return rows;
}

/** Malformed URLs and configuration, through the factory: a `ConfigError` naming the field. */
async function configCases(backend: string): Promise<CaseRow[]> {
  const cases: [string, string, () => Promise<EventBus>][] = [];
  const config = (c: Record<string, unknown>) => () =>
    createEventBus({ logger: silentLogger, ...c } as unknown as EventBusConfig);
  const env = (url: string) => () => createEventBusFromEnv({ OMNIBUS_URL: url });
  if (backend === 'memory') {
    cases.push(
      ['unknown backend', 'backend', config({ backend: 'rabbit' })],
      ['OMNIBUS_URL with an unknown scheme', 'OMNIBUS_URL', env('stomp://127.0.0.1:61613')],
      [
        'OMNIBUS_URL with a non-numeric parameter',
        'OMNIBUS_URL.maxBuffered',
        env('memory://?maxBuffered=lots'),
      ],
      ['option out of range (maxBuffered: 0)', 'maxBuffered', config({ backend, maxBuffered: 0 })],
      ['misspelt option (maxbuffered)', 'maxbuffered', config({ backend, maxbuffered: 5 })],
    );
  } else if (backend === 'nats') {
    cases.push(
      ['malformed URL (port not a number)', 'url', config({ backend, url: 'nats://127.0.0.1:notaport' })],
      ['malformed OMNIBUS_URL (unclosed IPv6 bracket)', 'OMNIBUS_URL', env('nats://[::1:4222')],
      [
        'option out of range (publishTimeoutMs: -5)',
        'publishTimeoutMs',
        config({ backend, publishTimeoutMs: -5 }),
      ],
      [
        'misspelt option (publishTimeoutMS)',
        'publishTimeoutMS',
        config({ backend, publishTimeoutMS: 5_000 }),
      ],
    );
  } else if (backend === 'redis') {
    cases.push(
      ['malformed URL (port not a number)', 'url', config({ backend, url: 'redis://127.0.0.1:notaport' })],
      ['URL with the wrong scheme', 'url', config({ backend, url: 'http://127.0.0.1:6379' })],
      [
        'URL parameter not a number (blockMs=abc)',
        'OMNIBUS_URL.blockMs',
        env('redis://127.0.0.1:6379/?blockMs=abc'),
      ],
      ['option out of range (trim.maxLen: -1)', 'trim.maxLen', config({ backend, trim: { maxLen: -1 } })],
    );
  } else if (backend === 'kafka') {
    cases.push(
      ['URL without a broker', 'url', config({ backend, url: 'kafka://' })],
      ['broker without a port', 'OMNIBUS_URL', env('kafka://127.0.0.1')],
      ['broker port not a number', 'url', config({ backend, url: 'kafka://127.0.0.1:abc' })],
      [
        'option of the wrong type (sessionTimeoutMs: "x")',
        'sessionTimeoutMs',
        config({ backend, sessionTimeoutMs: 'x' }),
      ],
    );
  }
  const rows: CaseRow[] = [];
  for (const [name, field, create] of cases) {
    const r = await attempt(create);
    if (!r.failed) await (r.value as EventBus).close({ timeoutMs: 1_000 }).catch(() => undefined);
    const named =
      r.error instanceof ConfigError && r.error.field === field && r.error.message.includes(field);
    rows.push({
      backend,
      case: name,
      expected: `ConfigError (CONFIG) naming ${field}`,
      observed: r.failed
        ? `${errorName(r.error)}${r.error instanceof ConfigError ? ` naming ${r.error.field}` : ''}`
        : 'accepted',
      passed: r.failed && isTyped(r.error, ConfigError, 'CONFIG') && named,
    });
  }
  return rows;
}

/** A port that accepts TCP connections and never says a word (a hung broker, a firewall black hole). */
async function silentServer(): Promise<{ port: number; server: Server }> {
  const port = await sparePort();
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const close = server.close.bind(server);
  server.close = (callback) => {
    for (const s of sockets) s.destroy();
    return close(callback);
  };
  return { port, server };
}

/** An unreachable broker: a bounded wait, then a typed error. */
async function unreachableCases(backend: string): Promise<CaseRow[]> {
  if (backend === 'memory') {
    return [
      {
        backend,
        case: 'unreachable broker',
        expected: 'ConnectionError (CONNECTION) within the connect timeout',
        observed: 'not applicable: the in-process bus has no broker',
        passed: true,
      },
    ];
  }
  const scheme = backend === 'rabbitmq' ? 'amqp' : backend;
  const url = (port: number) => `${scheme}://127.0.0.1:${port}`;
  const rows: CaseRow[] = [];
  const silent = await silentServer();
  try {
    for (const [name, port] of [
      ['unreachable broker: nothing listening', await sparePort()],
      ['unreachable broker: a port that accepts and never answers', silent.port],
    ] as [string, number][]) {
      const r = await attempt(() =>
        createEventBus({
          backend,
          url: url(port),
          connectTimeoutMs: CONNECT_TIMEOUT_MS,
          logger: silentLogger,
        } as EventBusConfig),
      );
      if (!r.failed) await (r.value as EventBus).close({ timeoutMs: 1_000 }).catch(() => undefined);
      const bounded = r.ms <= CONNECT_TIMEOUT_MS + CONNECT_SLACK_MS;
      rows.push({
        backend,
        case: name,
        expected: `ConnectionError (CONNECTION) within ${((CONNECT_TIMEOUT_MS + CONNECT_SLACK_MS) / 1000).toFixed(0)} s (connectTimeoutMs ${CONNECT_TIMEOUT_MS.toLocaleString('en')})`,
        observed: `${r.failed ? errorName(r.error) : 'connected?!'} after ${(r.ms / 1000).toFixed(1)} s`,
        passed: r.failed && isTyped(r.error, ConnectionError, 'CONNECTION') && bounded,
      });
    }
  } finally {
    await new Promise((resolve) => silent.server.close(resolve));
  }
  return rows;
}

/** The table's paragraph for docs/reliability.md. */
export const badInputDoc = `Every case must end in a typed error (checked with \`instanceof\` and \`.code\`) or a
dead-letter, never in a partial publish or a dead consumer loop. Invalid subjects (white space,
an empty token, a trailing dot, wildcards, the reserved \`$\` and \`_\` prefixes, 256 characters),
a payload one byte over the backend's \`capabilities.maxPayloadBytes\` and batches holding one bad
entry among good ones are published while a subscriber listens on \`badin.>\`; a sentinel
published last proves the subscriber saw everything before it, so "nothing stored" means
nothing of a rejected publish (not even the good half of a batch) arrived, and \`stats().published\`
grew only by the accepted publishes. A subject of exactly 255 characters and a payload exactly
at the limit must be accepted and arrive whole. A typed event (\`defineEvent\` with a Standard
Schema) receives undecodable JSON and schema-invalid data: each must be dead-lettered with its
reason in \`${DLQ_HEADERS.reason}\` and never reach the handler, and a good message published
after it must still be handled. Malformed URLs and options go through \`@omnibus/factory\`
(\`createEventBus\`, \`createEventBusFromEnv\`): a \`ConfigError\` whose \`field\` names the culprit.
An unreachable broker (a port nobody listens on, and one that accepts connections and never
answers) must give a \`ConnectionError\` within the connect timeout (${CONNECT_TIMEOUT_MS.toLocaleString('en')} ms) plus ${CONNECT_SLACK_MS / 1000} s.`;
