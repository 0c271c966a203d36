// Security, per backend, on a credential-protected broker the check starts
// itself: a token-protected NATS and one with nkey users, a Redis with a
// password and ACL users, a Kafka with SASL/PLAIN and SCRAM users — and each
// again behind TLS. With the credentials the bus works (and keeps working across
// a broker restart); without them, or with wrong ones, `createEventBus` fails
// with a typed error; and no credential — right or wrong — appears in any error
// message, stack or cause, log line, status report, `stats()` / `health()`
// output or dead-letter header.
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeyAuthenticator, nkeys } from '@nats-io/transport-node';
import { ConnectionError, type EventBus, type Message, OmnibusError, PublishError } from '@omnibus/core';
import { createEventBus, type EventBusConfig } from '@omnibus/factory';
import {
  createTestCertificates,
  startLocalKafka,
  startLocalNats,
  startLocalRabbitMq,
  startLocalRedis,
  type TestCertificates,
} from '@omnibus/testing';
import { Redis } from 'ioredis';
import { attempt, type CaseRow, errorName, isTyped } from './cases.js';
import { LeakCheck } from './leaks.js';
import type { Progress } from './scenarios.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Credentials of this run: long and distinctive, so that finding one in a text is never a coincidence. */
const secret = (what: string) => `${what}-${globalThis.crypto.randomUUID().replaceAll('-', '')}`;

/** Longest a refused connection may take (ms): the connect timeout the check sets, plus slack. */
const CONNECT_TIMEOUT_MS = 5_000;
const REFUSE_LIMIT_MS = CONNECT_TIMEOUT_MS + 5_000;

/** A protected broker, as the checks drive it. */
interface Protected {
  readonly backend: 'nats' | 'redis' | 'kafka' | 'rabbitmq';
  /** Every credential in play (right and wrong): none may leak. */
  readonly secrets: readonly string[];
  /** Ways to connect with the credentials: each must work. The first one is used across a restart. */
  readonly allowed: readonly { name: string; config: Record<string, unknown> }[];
  /** Ways to connect without or with wrong credentials: each must fail with a ConnectionError. */
  readonly refused: readonly { name: string; config: Record<string, unknown> }[];
  /** A credential-bearing URL, quoted by a failing handler for the dead-letter check. */
  readonly quotedUrl: string;
  restart(): Promise<void>;
  dispose(): Promise<void>;
}

/** A protected broker's restart (killed, started again) and disposal. */
function lifecycle(broker: { kill(): Promise<void>; restart(): Promise<void>; dispose(): Promise<void> }) {
  return {
    restart: async () => {
      await broker.kill();
      await broker.restart();
    },
    dispose: () => broker.dispose(),
  };
}

async function until(check: () => boolean, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (!check() && Date.now() < deadline) await sleep(50);
  return check();
}

/** Publishes one message and waits for it on a live subscription. */
async function roundTrip(bus: EventBus, subject: string, id: string): Promise<boolean> {
  let got = false;
  const sub = await bus.consume(subject, (m) => {
    if (m.id === id) got = true;
  });
  try {
    await bus.publish(subject, 'hello', { id });
    return await until(() => got, 20_000);
  } finally {
    await sub.close().catch(() => undefined);
  }
}

/** The checks on one protected broker. */
async function check(broker: Protected, progress: Progress): Promise<CaseRow[]> {
  const { backend } = broker;
  const leaks = new LeakCheck();
  const rows: CaseRow[] = [];
  const say = (what: string) => progress(`${backend} · security · ${what}`);
  const create = (name: string, config: Record<string, unknown>) =>
    createEventBus({
      backend,
      ...config,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: leaks.logger(name),
      onStatus: leaks.statusHook(name),
    } as EventBusConfig);
  const buses: EventBus[] = [];
  const observe = async (where: string, bus: EventBus) => {
    leaks.add(`${where} stats()`, JSON.stringify(bus.stats()));
    leaks.add(`${where} health()`, JSON.stringify(await bus.health().catch((e: unknown) => String(e))));
  };
  try {
    for (const [i, { name, config }] of broker.allowed.entries()) {
      say(name);
      const r = await attempt(() => create(name, config));
      if (r.failed) leaks.addError(name, r.error);
      const bus = r.value;
      if (bus) buses.push(bus);
      const works = bus ? await roundTrip(bus, `sec.ok${i}`, `sec-ok-${i}`).catch(() => false) : false;
      rows.push({
        backend,
        case: `with credentials: ${name}`,
        expected: 'connects; a message makes the round trip',
        observed: r.failed
          ? `refused: ${errorName(r.error)}`
          : works
            ? 'works'
            : 'connected, message not delivered',
        passed: !r.failed && works,
      });
    }
    for (const { name, config } of broker.refused) {
      say(name);
      const r = await attempt(() => create(name, config));
      if (r.failed) leaks.addError(name, r.error);
      else await r.value?.close({ timeoutMs: 1_000 }).catch(() => undefined);
      rows.push({
        backend,
        case: name,
        expected: `ConnectionError (CONNECTION) within ${REFUSE_LIMIT_MS / 1000} s`,
        observed: r.failed ? `${errorName(r.error)} after ${(r.ms / 1000).toFixed(1)} s` : 'connected',
        passed: r.failed && isTyped(r.error, ConnectionError, 'CONNECTION') && r.ms <= REFUSE_LIMIT_MS,
      });
    }
    const bus = buses[0];
    if (bus) {
      say('dead-letter of a handler error quoting a credential-bearing URL');
      rows.push(await deadLetterCase(bus, broker, leaks));
      say('broker restart with the credentials');
      rows.push(await restartCase(bus, broker, leaks));
    }
    for (const [i, b] of buses.entries()) await observe(`bus ${i + 1}`, b);
  } finally {
    for (const b of buses) {
      await b.close({ timeoutMs: 2_000 }).catch((e: unknown) => leaks.addError('close()', e));
    }
    await broker.dispose();
  }
  const leaked = leaks.find(broker.secrets);
  rows.push({
    backend,
    case: 'no credential in any error, stack, log line, status, stats, health or dead-letter header',
    expected: `none of the ${broker.secrets.length} credentials (right and wrong) in any text`,
    observed:
      leaked.length === 0 ? `none in ${leaks.size} texts` : `found in ${leaked.slice(0, 6).join(', ')}`,
    passed: leaked.length === 0,
  });
  return rows;
}

/** A handler fails quoting a credential-bearing URL (as a client library's error may): the dead-letter must not carry it. */
async function deadLetterCase(bus: EventBus, broker: Protected, leaks: LeakCheck): Promise<CaseRow> {
  const letters: Message[] = [];
  const dlq = await bus.consume('dlq.sec.fail', (m) => void letters.push(m));
  const failing = await bus.consume(
    'sec.fail',
    () => {
      throw new Error(`downstream refused: ${broker.quotedUrl}`);
    },
    { group: 'sec', maxAttempts: 1 },
  );
  try {
    await bus.publish('sec.fail', 'x', { id: 'sec-fail-1' });
    const arrived = await until(() => letters.length > 0, 20_000);
    for (const m of letters) leaks.add('dead-letter headers', JSON.stringify(m.headers));
    const reason = letters[0]?.headers['omnibus-dlq-error'] ?? '';
    const clean = !broker.secrets.some((s) => JSON.stringify(letters.map((m) => m.headers)).includes(s));
    return {
      backend: broker.backend,
      case: 'dead-letter of a handler error quoting a credential-bearing URL',
      expected: 'dead-lettered, the credential redacted from its headers',
      observed: arrived
        ? `dead-lettered; omnibus-dlq-error: ${reason.slice(0, 70)}`
        : 'no dead-letter arrived',
      passed: arrived && clean,
    };
  } finally {
    await failing.close().catch(() => undefined);
    await dlq.close().catch(() => undefined);
  }
}

/**
 * The broker restarted under a bus that authenticated, with a live subscription:
 * it reconnects with its credentials, a publish (which waits for the reconnect)
 * is accepted and the subscription receives it.
 */
async function restartCase(bus: EventBus, broker: Protected, leaks: LeakCheck): Promise<CaseRow> {
  let got = false;
  const sub = await bus.consume('sec.restart', (m) => {
    if (m.id === 'sec-restart-1') got = true;
  });
  const r = await attempt(async () => {
    await broker.restart();
    await bus.publish('sec.restart', 'again', { id: 'sec-restart-1' });
    return until(() => got, 30_000);
  });
  await sub.close().catch(() => undefined);
  if (r.failed) leaks.addError('after restart', r.error);
  return {
    backend: broker.backend,
    case: 'broker restarted under an authenticated bus',
    expected: 'reconnects with its credentials; publishing and the live subscription work again',
    observed: r.failed
      ? `${errorName(r.error)}: ${(r.error as Error).message.slice(0, 120)}`
      : r.value
        ? `works again (${(r.ms / 1000).toFixed(1)} s with the restart)`
        : 'published, not delivered',
    passed: !r.failed && r.value === true,
  };
}

async function protectedNats(): Promise<Protected> {
  const token = secret('nats-token');
  const wrong = secret('nats-wrong');
  const server = await startLocalNats({ token });
  const plain = server.url;
  const withToken = plain.replace('nats://', `nats://${token}@`);
  return {
    backend: 'nats',
    secrets: [token, wrong],
    allowed: [
      { name: 'token in connectOptions', config: { url: plain, connectOptions: { token } } },
      { name: 'token in the URL (nats://<token>@host)', config: { url: withToken } },
    ],
    refused: [
      { name: 'without credentials', config: { url: plain } },
      { name: 'with a wrong token', config: { url: plain.replace('nats://', `nats://${wrong}@`) } },
    ],
    quotedUrl: withToken,
    ...lifecycle(server),
  };
}

/**
 * NATS with nkey users (a server config file naming the public key): the client
 * signs the server's nonce with its seed, given as `connectOptions.authenticator`.
 * The seed is the secret: the dead-letter check quotes it bare, as a client error
 * about a .creds file might.
 */
async function nkeyNats(): Promise<Protected> {
  const user = nkeys.createUser();
  const other = nkeys.createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  const otherSeed = new TextDecoder().decode(other.getSeed());
  const config = join(tmpdir(), `omnibus-nkey-${globalThis.crypto.randomUUID()}.conf`);
  writeFileSync(config, `authorization { users = [ { nkey: "${user.getPublicKey()}" } ] }\n`);
  const server = await startLocalNats({ args: ['-c', config] });
  const withSeed = (s: string) => ({
    url: server.url,
    connectOptions: { authenticator: nkeyAuthenticator(new TextEncoder().encode(s)) },
  });
  return {
    backend: 'nats',
    secrets: [seed, otherSeed],
    allowed: [{ name: 'nkey seed as connectOptions.authenticator', config: withSeed(seed) }],
    refused: [
      { name: 'without credentials', config: { url: server.url } },
      { name: 'with an unknown nkey', config: withSeed(otherSeed) },
    ],
    quotedUrl: `${server.url} with the nkey seed ${seed}`,
    restart: lifecycle(server).restart,
    dispose: async () => {
      await server.dispose();
      rmSync(config, { force: true });
    },
  };
}

async function protectedRedis(): Promise<Protected & { port: number; adminUrl: string; reader: string }> {
  const password = secret('redis-default');
  const app = secret('redis-app');
  const reader = secret('redis-reader');
  const wrong = secret('redis-wrong');
  // users on the command line (configuration, not ACL SETUSER), so that they survive a restart
  const server = await startLocalRedis({
    aof: true,
    args: [
      '--requirepass',
      password,
      '--user',
      'app',
      'on',
      `>${app}`,
      '~*',
      '&*',
      '+@all',
      '--user',
      'reader',
      'on',
      `>${reader}`,
      '~*',
      '&*',
      '+@all',
      '-@write',
      '-@scripting',
    ],
  });
  const at = (auth: string) => server.url.replace('redis://', `redis://${auth}@`);
  return {
    backend: 'redis',
    port: server.port,
    adminUrl: at(`:${password}`),
    reader: at(`reader:${reader}`),
    secrets: [password, app, reader, wrong],
    allowed: [
      { name: 'ACL user in the URL (redis://app:<password>@host)', config: { url: at(`app:${app}`) } },
      { name: 'default user, requirepass in the URL', config: { url: at(`:${password}`) } },
      {
        name: 'ACL user in redisOptions',
        config: { url: server.url, redisOptions: { username: 'app', password: app } },
      },
    ],
    refused: [
      { name: 'without credentials', config: { url: server.url } },
      { name: 'default user with a wrong password', config: { url: at(`:${wrong}`) } },
      { name: 'ACL user with a wrong password', config: { url: at(`app:${wrong}`) } },
      { name: 'unknown ACL user', config: { url: at(`nobody:${app}`) } },
    ],
    quotedUrl: at(`app:${app}`),
    ...lifecycle(server),
  };
}

/** An ACL user without write permission: publishing is a typed error and stores nothing. */
async function readOnlyCase(redis: { adminUrl: string; reader: string }, leaks: LeakCheck): Promise<CaseRow> {
  const admin = new Redis(redis.adminUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await admin.connect();
  try {
    const before = Number(await admin.dbsize());
    const r = await attempt(async () => {
      const bus = await createEventBus({
        backend: 'redis',
        url: redis.reader,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        logger: leaks.logger('read-only user'),
        onStatus: leaks.statusHook('read-only user'),
      });
      try {
        await bus.publish('sec.readonly', 'x', { id: 'sec-ro-1' });
      } finally {
        leaks.add('read-only user stats()', JSON.stringify(bus.stats()));
        await bus.close({ timeoutMs: 1_000 }).catch(() => undefined);
      }
    });
    if (r.failed) leaks.addError('read-only user', r.error);
    const after = Number(await admin.dbsize());
    const typed = r.error instanceof PublishError || r.error instanceof ConnectionError;
    return {
      backend: 'redis',
      case: 'ACL user without write permission publishes',
      expected: 'PublishError or ConnectionError, nothing stored',
      observed: `${r.failed ? errorName(r.error) : 'published'}; ${after - before} keys added`,
      passed: r.failed && r.error instanceof OmnibusError && typed && after === before,
    };
  } finally {
    admin.disconnect();
  }
}

async function protectedKafka(): Promise<Protected> {
  const password = secret('kafka-app');
  const scram = secret('kafka-scram');
  const wrong = secret('kafka-wrong');
  const kafka = await startLocalKafka({ saslPlain: `app:${password}`, saslScram: `sc:${scram}` });
  const broker = kafka.brokers.join(',');
  const scramWith = (mechanism: string, pw: string) => ({
    brokers: kafka.brokers,
    sasl: { mechanism, username: 'sc', password: pw },
  });
  return {
    backend: 'kafka',
    secrets: [password, scram, wrong],
    allowed: [
      {
        name: 'SASL/PLAIN in the URL (kafka://app:<password>@host)',
        config: { url: `kafka://app:${password}@${broker}` },
      },
      {
        name: 'SASL/PLAIN in the sasl option',
        config: { brokers: kafka.brokers, sasl: { mechanism: 'plain', username: 'app', password } },
      },
      { name: 'SASL/SCRAM-SHA-256 in the sasl option', config: scramWith('scram-sha-256', scram) },
      { name: 'SASL/SCRAM-SHA-512 in the sasl option', config: scramWith('scram-sha-512', scram) },
    ],
    refused: [
      { name: 'without credentials', config: { url: `kafka://${broker}` } },
      { name: 'with a wrong password', config: { url: `kafka://app:${wrong}@${broker}` } },
      { name: 'unknown user', config: { url: `kafka://nobody:${password}@${broker}` } },
      { name: 'SASL/SCRAM-SHA-256 with a wrong password', config: scramWith('scram-sha-256', wrong) },
    ],
    quotedUrl: `kafka://app:${password}@${broker}`,
    ...lifecycle(kafka),
  };
}

/**
 * RabbitMQ with the guest user deleted and a user of a vhost of its own, its password random
 * for the run (`rabbitmqctl add_user`, kept across a restart by the node's data).
 */
async function protectedRabbitMq(): Promise<Protected> {
  const password = secret('rabbitmq-app');
  const wrong = secret('rabbitmq-wrong');
  const node = await startLocalRabbitMq();
  await node.ctl(['add_vhost', 'omnibus-sec']);
  await node.ctl(['add_user', 'app', password]);
  await node.ctl(['set_permissions', '-p', 'omnibus-sec', 'app', '.*', '.*', '.*']);
  await node.ctl(['delete_user', 'guest']);
  const at = (auth: string, vhost = 'omnibus-sec') => `amqp://${auth}127.0.0.1:${node.port}/${vhost}`;
  return {
    backend: 'rabbitmq',
    secrets: [password, wrong],
    allowed: [
      {
        name: 'user and password in the URL (amqp://app:<password>@host/vhost)',
        config: { url: at(`app:${password}@`) },
      },
    ],
    refused: [
      { name: 'without credentials (the guest user is gone)', config: { url: at('') } },
      { name: 'with a wrong password', config: { url: at(`app:${wrong}@`) } },
      { name: 'unknown user', config: { url: at(`nobody:${password}@`) } },
      { name: 'a vhost the user may not open', config: { url: at(`app:${password}@`, '') } },
    ],
    quotedUrl: at(`app:${password}@`),
    ...lifecycle(node),
  };
}

/**
 * The same backend behind TLS (a CA and server certificate made for the run), with
 * credentials too, as in production: the URL schemes the docs promise (`tls://`,
 * `rediss://`, `kafka+ssl://`) with the CA given the way each client takes it must
 * work; a client that does not trust the CA, or speaks plaintext to the TLS port,
 * must get a ConnectionError.
 */
async function tlsNats(certs: TestCertificates): Promise<Protected> {
  const token = secret('nats-tls-token');
  const wrong = secret('nats-tls-wrong');
  const server = await startLocalNats({ token, tls: certs });
  const at = (auth: string) => server.url.replace('tls://', `tls://${auth}@`);
  return {
    backend: 'nats',
    secrets: [token, wrong],
    allowed: [
      {
        name: 'tls:// with the token in the URL, the CA in connectOptions.tls.ca',
        config: { url: at(token), connectOptions: { tls: { ca: certs.ca } } },
      },
      {
        name: 'tls:// with the token and the CA file (tls.caFile) in connectOptions',
        config: { url: server.url, connectOptions: { token, tls: { caFile: certs.caFile } } },
      },
    ],
    refused: [
      { name: 'tls:// without trusting the CA', config: { url: at(token) } },
      {
        name: 'tls:// with a wrong token',
        config: { url: at(wrong), connectOptions: { tls: { ca: certs.ca } } },
      },
    ],
    quotedUrl: at(token),
    ...lifecycle(server),
  };
}

async function tlsRedis(certs: TestCertificates): Promise<Protected> {
  const password = secret('redis-tls-default');
  const wrong = secret('redis-tls-wrong');
  const server = await startLocalRedis({ aof: true, tls: certs, args: ['--requirepass', password] });
  const at = (auth: string) => server.url.replace('rediss://', `rediss://${auth}@`);
  return {
    backend: 'redis',
    secrets: [password, wrong],
    allowed: [
      {
        name: 'rediss:// with the password in the URL, the CA in redisOptions.tls',
        config: { url: at(`:${password}`), redisOptions: { tls: { ca: certs.ca } } },
      },
    ],
    refused: [
      { name: 'rediss:// without trusting the CA', config: { url: at(`:${password}`) } },
      {
        name: 'redis:// (plaintext) to the TLS port',
        config: { url: at(`:${password}`).replace('rediss://', 'redis://') },
      },
      {
        name: 'rediss:// with a wrong password',
        config: { url: at(`:${wrong}`), redisOptions: { tls: { ca: certs.ca } } },
      },
    ],
    quotedUrl: at(`:${password}`),
    ...lifecycle(server),
  };
}

async function tlsKafka(certs: TestCertificates): Promise<Protected> {
  const password = secret('kafka-tls-app');
  const wrong = secret('kafka-tls-wrong');
  const kafka = await startLocalKafka({ saslPlain: `app:${password}`, tls: certs });
  const broker = kafka.brokers.join(',');
  return {
    backend: 'kafka',
    secrets: [password, wrong],
    allowed: [
      {
        name: 'kafka+ssl:// with SASL/PLAIN in the URL, the CA in ssl.ca',
        config: { url: `kafka+ssl://app:${password}@${broker}`, ssl: { ca: [certs.ca] } },
      },
    ],
    refused: [
      {
        name: 'kafka+ssl:// without trusting the CA',
        config: { url: `kafka+ssl://app:${password}@${broker}` },
      },
      {
        name: 'kafka:// (plaintext) to the TLS listener',
        config: { url: `kafka://app:${password}@${broker}` },
      },
      {
        name: 'kafka+ssl:// with a wrong password',
        config: { url: `kafka+ssl://app:${wrong}@${broker}`, ssl: { ca: [certs.ca] } },
      },
    ],
    quotedUrl: `kafka+ssl://app:${password}@${broker}`,
    ...lifecycle(kafka),
  };
}

const tlsBrokers: Record<string, (certs: TestCertificates) => Promise<Protected>> = {
  nats: tlsNats,
  redis: tlsRedis,
  kafka: tlsKafka,
};

/** The checks on the backend behind TLS; every case is named `TLS: …`. */
async function tlsChecks(backend: string, progress: Progress): Promise<CaseRow[]> {
  const start = tlsBrokers[backend];
  if (!start) return [];
  const certs = await createTestCertificates();
  try {
    const rows = await check(await start(certs), (line) =>
      progress(line.replace('security', 'security · TLS')),
    );
    return rows.map((row) => ({ ...row, case: `TLS: ${row.case}` }));
  } finally {
    certs.dispose();
  }
}

/**
 * The security checks of one backend: credentials, then the same behind TLS (the
 * memory bus has no credentials: one "not applicable" row).
 */
export async function security(backend: string, progress: Progress): Promise<CaseRow[]> {
  return [...(await credentialChecks(backend, progress)), ...(await tlsChecks(backend, progress))];
}

async function credentialChecks(backend: string, progress: Progress): Promise<CaseRow[]> {
  if (backend === 'nats') {
    const nkey = await check(await nkeyNats(), progress);
    return [
      ...(await check(await protectedNats(), progress)),
      ...nkey.map((row) => ({ ...row, case: `nkey: ${row.case}` })),
    ];
  }
  if (backend === 'kafka') return check(await protectedKafka(), progress);
  if (backend === 'rabbitmq') return check(await protectedRabbitMq(), progress);
  if (backend === 'redis') {
    const redis = await protectedRedis();
    const leaks = new LeakCheck();
    const readOnly = await readOnlyCase(redis, leaks).catch(
      (error: unknown): CaseRow => ({
        backend,
        case: 'ACL user without write permission publishes',
        expected: 'PublishError or ConnectionError, nothing stored',
        observed: `check failed: ${errorName(error)}`,
        passed: false,
      }),
    );
    const rows = await check(redis, progress);
    const leaked = leaks.find(redis.secrets);
    if (leaked.length > 0) {
      readOnly.passed = false;
      readOnly.observed += `; credential found in ${leaked.join(', ')}`;
    }
    return [readOnly, ...rows];
  }
  return [
    {
      backend,
      case: 'credentials',
      expected: 'works with credentials, typed error without, no credential in any output',
      observed: 'not applicable: the in-process bus has no credentials',
      passed: true,
    },
  ];
}

/** The table's paragraph for docs/reliability.md. */
export const securityDoc = `Each backend gets a broker protected by credentials, started by the check on a spare port:
\`nats-server --auth <token>\`, and a second one whose config names an nkey user (rows \`nkey: …\`:
the client signs with its seed through \`connectOptions.authenticator\`, and the dead-letter check
quotes the bare seed); \`redis-server --requirepass\` with two ACL users given on its
command line (\`app\` with every permission, \`reader\` without \`@write\` and \`@scripting\`); a
single-node Kafka whose listener is SASL/PLAIN and also takes SCRAM-SHA-256 and SCRAM-SHA-512 for
a second user (\`startLocalKafka({ saslPlain, saslScram })\`); a RabbitMQ node whose \`guest\` user is
deleted and whose user \`app\` may open only a vhost of its own (another vhost must be refused too). Every
credential is random for the run. Connecting with the credentials (each way a user would
write them) must work — a message makes the round trip — and keep working across a broker
restart; connecting without them, with a wrong password or token, or as an unknown user must
fail with a \`ConnectionError\` within the connect timeout (${CONNECT_TIMEOUT_MS.toLocaleString('en')} ms) plus 5 s;
Redis's read-only user must get a typed error when it publishes, and nothing may be stored.
A handler fails quoting a credential-bearing URL and is dead-lettered. Then every text the
buses produced — each error's message, stack, \`String()\`, \`util.inspect()\` with its cause chain
and own fields, every log line at every level (through the bus's \`logger\`), every \`onStatus\`
report, \`stats()\` and \`health()\`, the dead-letter's headers — is searched for every credential
of the run, right and wrong ones alike.

The same checks run again with each backend behind **TLS** (rows \`TLS: …\`): a CA and a server
certificate for 127.0.0.1 are made for the run with \`openssl\` (\`createTestCertificates()\`), and
the broker serves only TLS and asks for credentials too, as in production — \`nats-server --tls\`
with a token, \`redis-server --tls-port\` with \`requirepass\`, a Kafka \`SASL_SSL\` listener. The URL
schemes the docs promise (\`tls://\`, \`rediss://\`, \`kafka+ssl://\`) with the CA given the way each
client takes it (\`connectOptions.tls\`, \`redisOptions.tls\`, \`ssl\`) must work and survive a
restart; a client that does not trust the CA, that speaks plaintext to the TLS port, or that
presents a wrong credential must get a \`ConnectionError\`.`;
