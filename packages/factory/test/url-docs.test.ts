// The URL parameters and URL examples the documentation shows are the ones the code accepts:
// every parameter listed is accepted, every accepted parameter is listed, and every example URL
// with parameters (READMEs, docs, TSDoc) parses and is accepted by its adapter. No broker needed:
// broker URLs point at a closed port, and "accepted" means the bus got as far as connecting.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@omnibus/core';
import { readmeSchemeRow, readmeUrlParameters } from '@omnibus/testing';
import { describe, expect, it } from 'vitest';
import { createEventBusFromEnv, parseOmnibusUrl } from '../src/index.js';
import { MEMORY_URL_PARAMETERS } from '../src/url-parameters.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const readme = (pkg: string) => read(`packages/${pkg}/README.md`);

/** A value each parameter accepts (integers default to 5000). */
const SAMPLES: Record<string, string> = {
  history: '100',
  overflow: 'drop-oldest',
  stream: 'ORDERS:orders.>',
  retention: 'limits',
  storage: 'memory',
  replicas: '1',
  streamPrefix: 'APP',
  provision: 'verify',
  pullExpiresMs: '1000',
  keyPrefix: 'app',
  durable: 'true',
  topicPrefix: 'app.',
  groupPrefix: 'app.',
  clientId: 'orders',
  numPartitions: '2',
  replicationFactor: '1',
  sessionTimeoutMs: '6000',
  connectTimeoutMs: '300',
  delivery: 'at-most-once',
  exchange: 'app',
  queuePrefix: 'app.',
  queueType: 'quorum',
};

/** The code default for each broker's connect timeout, short: a closed port fails at once anyway. */
const quick = {
  nats: { connectTimeoutMs: 300 },
  redis: { connectTimeoutMs: 300 },
  kafka: { connectTimeoutMs: 300 },
  rabbitmq: { connectTimeoutMs: 300 },
};

/**
 * Creates the bus `url` selects, with a closed port instead of its server; resolves with the
 * error code (`CONNECTION`: the configuration was accepted) or `OK` (the memory bus).
 */
async function outcome(url: string): Promise<string> {
  const target = url.replace(/^([a-z+]+:\/\/)[^/?]*/i, (_, scheme: string) =>
    scheme === 'memory://' ? scheme : `${scheme}127.0.0.1:1`,
  );
  const { backend } = parseOmnibusUrl(target);
  const inUrl = new URLSearchParams(target.split('?')[1] ?? '').has('connectTimeoutMs');
  try {
    const bus = await createEventBusFromEnv({
      env: { OMNIBUS_URL: target },
      logger: silentLogger,
      ...(backend === 'memory' || inUrl ? {} : { [backend]: quick[backend as keyof typeof quick] }),
    });
    await bus.close();
    return 'OK';
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    return code === 'CONNECTION' ? code : `${code}: ${message}`;
  }
}

function queryOf(names: readonly string[]): string {
  return names.map((name) => `${name}=${encodeURIComponent(SAMPLES[name] ?? '5000')}`).join('&');
}

const schemes = [
  { scheme: 'memory://', pkg: 'memory', accepted: Object.keys(MEMORY_URL_PARAMETERS), url: 'memory://' },
  { scheme: 'nats://', pkg: 'nats', accepted: undefined, url: 'nats://h:4222' },
  { scheme: 'redis://', pkg: 'redis', accepted: undefined, url: 'redis://h:6379' },
  { scheme: 'kafka://', pkg: 'kafka', accepted: undefined, url: 'kafka://h:9092' },
  { scheme: 'amqp://', pkg: 'rabbitmq', accepted: undefined, url: 'amqp://h:5672' },
] as const;

describe('documented URL parameters', () => {
  for (const { scheme, pkg, accepted } of schemes) {
    if (accepted === undefined) continue; // the broker adapters read their own: their tests hold them to it
    it(`${scheme}: the factory README and the ${pkg} README list exactly the parameters the factory reads`, () => {
      expect([...readmeSchemeRow(readme('factory'), scheme)].sort()).toEqual([...accepted].sort());
      expect([...readmeUrlParameters(readme(pkg))].sort()).toEqual([...accepted].sort());
    });
  }

  for (const { scheme, pkg, url } of schemes) {
    it(`${scheme}: every parameter the READMEs list is accepted, through the factory and the adapter`, async () => {
      const listed = [
        ...new Set([...readmeSchemeRow(readme('factory'), scheme), ...readmeUrlParameters(readme(pkg))]),
      ];
      expect(listed.length).toBeGreaterThan(0);
      // one URL with all of them (trimMaxLen and trimMaxAgeMs exclude each other: the second on its own)
      const together = listed.filter((name) => name !== 'trimMaxAgeMs');
      expect(await outcome(`${url}?${queryOf(together)}`)).toMatch(/^(OK|CONNECTION)$/);
      if (listed.includes('trimMaxAgeMs'))
        expect(await outcome(`${url}?${queryOf(['trimMaxAgeMs'])}`)).toBe('CONNECTION');
    });
  }
});

/** Every URL with query parameters in the documentation and the TSDoc of the packages. */
function documentedExamples(): { where: string; url: string }[] {
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
    ...readdirSync(join(root, 'examples')).map((d) => `examples/${d}/README.md`),
    ...readdirSync(join(root, 'packages')).flatMap((pkg) => [
      `packages/${pkg}/README.md`,
      ...readdirSync(join(root, 'packages', pkg, 'src'), { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.ts'))
        .map((f) => `packages/${pkg}/src/${f}`),
    ]),
  ];
  const examples: { where: string; url: string }[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = read(file);
    } catch {
      continue; // an example without a README
    }
    for (const [url] of text.matchAll(
      /\b(?:memory|nats|tls|redis|rediss|kafka|kafka\+ssl):\/\/[^\s'"`)|]*\?[^\s'"`)|]*/g,
    ))
      examples.push({ where: file, url: url.replace(/[.,;]$/, '') });
  }
  return examples;
}

describe('documented example URLs', () => {
  const examples = documentedExamples();

  it('are found (the READMEs and the parseOmnibusUrl TSDoc have some)', () => {
    const where = new Set(examples.map((e) => e.where));
    expect(where).toContain('packages/factory/README.md');
    expect(where).toContain('packages/factory/src/parse-url.ts');
    expect(where).toContain('packages/nats/README.md');
    expect(where).toContain('packages/memory/README.md');
  });

  it('parse and are accepted by their adapter (no stream on ">" and the like)', async () => {
    for (const { where, url } of examples) {
      expect(() => parseOmnibusUrl(url), `${where}: ${url}`).not.toThrow();
      expect(await outcome(url), `${where}: ${url}`).toMatch(/^(OK|CONNECTION)$/);
    }
  });

  it('would catch the example that used stream=ALL:>', async () => {
    expect(await outcome('nats://h:4222?stream=ALL:>&storage=memory')).toMatch(
      /^CONFIG: .*OMNIBUS_URL\.stream: .*would also capture the server's own subjects/,
    );
  });
});
