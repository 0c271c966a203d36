import { ConfigError, queryStart, readUrlParameters, splitAuthority } from '@omnibus/core';
import { importFactory } from './load-adapter.js';
import type { AdapterRegistration, UrlReading } from './registry.js';
import { MEMORY_URL_PARAMETERS } from './url-parameters.js';

const URL_CONTEXT = { field: 'OMNIBUS_URL' } as const;

function queryOf(url: string): URLSearchParams {
  return new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
}

/** Throws a `ConfigError` that does not repeat the URL's parser error (it would echo credentials). */
function mustParse(server: string, url: string, backend: string): void {
  try {
    new URL(server);
  } catch {
    throw new ConfigError('OMNIBUS_URL', `cannot parse ${url}`, { backend });
  }
}

function memoryUrl(url: string): UrlReading {
  const fromUrl = readUrlParameters(queryOf(url), MEMORY_URL_PARAMETERS, {
    ...URL_CONTEXT,
    scheme: 'memory://',
    backend: 'memory',
  });
  return { options: { ...fromUrl.options }, fromUrl };
}

/**
 * Checks that each server of a `nats://` or `tls://` URL parses; the adapter reads the rest itself:
 * credentials and its query parameters (`?storage=memory&maxAgeMs=60000&stream=ORDERS:orders.>`,
 * see the NATS README), refusing one the code also sets.
 */
function natsUrl(url: string): UrlReading {
  const after = queryStart(url);
  const query = after < 0 ? url.length : after;
  for (const server of url.slice(0, query).split(','))
    mustParse(server.includes('://') ? server : `nats://${server}`, url, 'nats');
  return { options: { url } };
}

/** Checks the broker list; the adapter reads the rest itself: SASL credentials, TLS, its query parameters. */
function kafkaUrl(url: string): UrlReading {
  const rest = url.slice(url.indexOf('://') + 3);
  const isBroker = (h: string) => /^[A-Za-z0-9.[\]:-]+:\d+$/.test(h);
  const authority = splitAuthority(rest, isBroker);
  // after the last `@` there are no credentials: a broker there without its port is said so
  const tail = rest.slice(rest.lastIndexOf('@') + 1);
  if (!authority && !/[/?#]/.test(tail))
    for (const h of tail.split(',').filter(Boolean))
      if (!isBroker(h)) throw new ConfigError('OMNIBUS_URL', `broker "${h}" must be host:port`);
  // with credentials in it, a URL that cannot be split is not repeated (the password could show)
  if (!authority)
    throw new ConfigError(
      'OMNIBUS_URL',
      `cannot read the credentials and brokers of the kafka:// URL (after its last "@": "${rest.slice(rest.lastIndexOf('@') + 1)}"): percent-encode "@", "/", "?" and "%" in the password (%40, %2F, %3F, %25)`,
    );
  const hosts = authority.hosts.split(',').filter(Boolean);
  if (hosts.length === 0)
    throw new ConfigError('OMNIBUS_URL', `no broker in ${url}; expected kafka://host:9092[,host2:9092]`);
  for (const h of hosts) {
    if (!isBroker(h)) throw new ConfigError('OMNIBUS_URL', `broker "${h}" must be host:port in ${url}`);
  }
  return { options: { url } };
}

/**
 * An `@omnibus/<name>` adapter: its package, and a loader that imports `factory` from it
 * (only when a URL or config names it).
 */
function builtIn(
  name: string,
  schemes: readonly string[],
  factory: string,
  rest: Omit<AdapterRegistration, 'name' | 'schemes' | 'packageName' | 'load'> = {},
): AdapterRegistration {
  const packageName = `@omnibus/${name}`;
  return { name, schemes, packageName, load: () => importFactory(packageName, factory), ...rest };
}

/**
 * The five `@omnibus` adapters, registered at start-up through `registerAdapter`
 * like any other. The broker adapters read their own query parameters (and refuse
 * one the code also sets); memory's are read here.
 */
export const BUILT_IN_ADAPTERS: readonly AdapterRegistration[] = [
  builtIn('memory', ['memory'], 'createMemoryBus', { parseUrl: memoryUrl, reportsStatus: false }),
  builtIn('nats', ['nats', 'tls'], 'createNatsBus', { parseUrl: natsUrl, connectionOption: 'connection' }),
  builtIn('redis', ['redis', 'rediss'], 'createRedisBus', { connectionOption: 'client' }),
  builtIn('kafka', ['kafka', 'kafka+ssl'], 'createKafkaBus', {
    parseUrl: kafkaUrl,
    connectionOption: 'kafka',
  }),
  builtIn('rabbitmq', ['amqp', 'amqps'], 'createRabbitMqBus'),
];
